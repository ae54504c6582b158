package dev.glint.hv.mshv.internal;

import dev.glint.hv.Availability;
import dev.glint.hv.Capability;
import dev.glint.hv.PrivilegedExecution;
import dev.glint.hv.mshv.internal.sys.Errno;
import dev.glint.hv.mshv.internal.sys.Libc;
import dev.glint.hv.mshv.internal.sys.Mshv;
import dev.glint.hv.mshv.internal.sys.Sigaction;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Optional;

/**
 * Finds out once per process whether {@code /dev/mshv} works here by doing the real thing: open the
 * device, create a partition ({@code MSHV_CREATE_PARTITION}), initialize it ({@code
 * MSHV_INITIALIZE_PARTITION}) and close it. The 6.15 uapi has no version ioctl, so an older or
 * out-of-tree driver shows up as {@code ENOTTY} or {@code EINVAL} from those calls ("wrong API").
 * The answer is computed in a holder class, so neither loading this class nor probing twice can
 * fail or deadlock.
 */
final class MshvProbe {
  static final String DEFAULT_DEVICE = "/dev/mshv";

  /** Names another device path (tests use it to probe a missing or wrong device). */
  static final String DEVICE_PROPERTY = "glint.hv.mshv.device";

  static final String DISABLE_PROPERTY = "glint.hv.mshv.disable";
  static final String SIGNAL_PROPERTY = "glint.hv.mshv.signal";
  static final int DEFAULT_SIGNAL = 41;

  /**
   * Overrides what the backend reports about privileged guest code ({@code NATIVE} by default: the
   * Microsoft Hypervisor runs on VMX/SVM). A test double that serves {@code /dev/mshv} from KVM on
   * a PVM host sets it to {@code EMULATED}, since there CPL-0 code is emulated, as it really is.
   */
  static final String PRIVILEGED_EXECUTION_PROPERTY = "glint.hv.mshv.privilegedExecution";

  /** The cached outcome: the availability, and the host facts when available. */
  record Result(Availability availability, Optional<MshvHost> host) {}

  private static final class Holder {
    static final Result RESULT = computeSafely(device());
  }

  private MshvProbe() {}

  static String device() {
    String device = System.getProperty(DEVICE_PROPERTY, "").strip();
    return device.isEmpty() ? DEFAULT_DEVICE : device;
  }

  /** {@return the probe's cached result; honours {@value #DISABLE_PROPERTY} on every call} */
  static Result result() {
    if (Boolean.getBoolean(DISABLE_PROPERTY)) {
      return unavailable("disabled by -D" + DISABLE_PROPERTY + "=true");
    }
    return Holder.RESULT;
  }

  private static Result unavailable(String reason) {
    return new Result(Availability.Unavailable.because(reason), Optional.empty());
  }

  /** Probes {@code device} now, uncached (tests call it with other paths). Never throws. */
  static Result computeSafely(String device) {
    try {
      Result result = compute(device);
      System.getLogger("dev.glint.hv.mshv")
          .log(System.Logger.Level.DEBUG, () -> "mshv: probe: " + result.availability());
      return result;
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable t) {
      return new Result(
          new Availability.Unavailable("probing mshv failed unexpectedly: " + t, Optional.of(t)),
          Optional.empty());
    }
  }

  private static Result compute(String device) {
    String os = System.getProperty("os.name", "");
    String arch = System.getProperty("os.arch", "");
    if (!os.startsWith("Linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
      return unavailable("the mshv backend needs Linux on x86-64; this is " + os + " on " + arch);
    }
    Optional<String> nativeProblem = Libc.unavailableReason();
    if (nativeProblem.isPresent()) {
      return unavailable(nativeProblem.get());
    }
    int fd = Libc.open(device, Libc.O_RDWR | Libc.O_CLOEXEC);
    if (fd < 0) {
      return unavailable(openFailure(device, -fd));
    }
    try {
      int partition = Mshv.createPartition(fd, 0);
      if (partition < 0) {
        return unavailable(apiFailure(device, "MSHV_CREATE_PARTITION", -partition));
      }
      try {
        int result = Mshv.initializePartition(partition);
        if (result < 0) {
          return unavailable(apiFailure(device, "MSHV_INITIALIZE_PARTITION", -result));
        }
      } finally {
        Libc.close(partition);
      }
    } finally {
      Libc.close(fd);
    }

    EnumSet<Capability> capabilities =
        EnumSet.of(
            Capability.READ_ONLY_MEMORY,
            Capability.UNMAP,
            Capability.REAL_MODE,
            Capability.USER_MODE_ENTRY);
    int signal = Integer.getInteger(SIGNAL_PROPERTY, DEFAULT_SIGNAL);
    Optional<String> cancelProblem = Sigaction.installNoOpHandler(signal, SIGNAL_PROPERTY);
    if (cancelProblem.isEmpty()) {
      capabilities.add(Capability.CANCEL);
    } else {
      System.getLogger("dev.glint.hv.mshv")
          .log(
              System.Logger.Level.WARNING,
              "mshv: VP cancellation is unavailable: " + cancelProblem.get());
    }
    String library = System.getProperty(Libc.LIBRARY_PROPERTY, "").strip();
    String description =
        "Microsoft Hypervisor through %s (Linux 6.15+ uapi)%s"
            .formatted(device, library.isEmpty() ? "" : ", C library calls through " + library);
    PrivilegedExecution privileged = privilegedExecution();
    MshvHost host =
        new MshvHost(
            description,
            device,
            capabilities,
            privileged,
            cancelProblem.isEmpty() ? signal : 0,
            cancelProblem);
    return new Result(
        new Availability.Available(description, capabilities, privileged), Optional.of(host));
  }

  private static PrivilegedExecution privilegedExecution() {
    String value = System.getProperty(PRIVILEGED_EXECUTION_PROPERTY, "").strip();
    if (value.isEmpty()) {
      return PrivilegedExecution.NATIVE;
    }
    try {
      return PrivilegedExecution.valueOf(value.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "-D%s=%s: use NATIVE or EMULATED".formatted(PRIVILEGED_EXECUTION_PROPERTY, value), e);
    }
  }

  /** {@return the reason for a failed open of the device, with the fix} */
  static String openFailure(String device, int errno) {
    return switch (errno) {
      case Errno.ENOENT, Errno.ENODEV, Errno.ENXIO ->
          "no %s: this is not a Linux root partition of the Microsoft Hypervisor with the mshv_root driver (Linux 6.15+, CONFIG_MSHV_ROOT; see docs/backends.md)"
              .formatted(device);
      case Errno.EACCES, Errno.EPERM -> permissionDenied(device);
      default -> "cannot open " + device + ": " + Errno.name(errno);
    };
  }

  /** {@return the reason for a device that opens but does not speak the 6.15 uapi} */
  static String apiFailure(String device, String ioctl, int errno) {
    if (errno == Errno.ENOTTY || errno == Errno.EINVAL) {
      return "%s does not speak the Linux 6.15 mshv API: %s failed with %s; Glint needs the upstream uapi of Linux 6.15 or newer (an older or out-of-tree mshv driver has other ioctls)"
          .formatted(device, ioctl, Errno.name(errno));
    }
    if (errno == Errno.EACCES || errno == Errno.EPERM) {
      return "%s: %s refused (%s); creating partitions needs CAP_SYS_ADMIN or root on the root partition"
          .formatted(device, ioctl, Errno.name(errno));
    }
    return "%s: %s failed: %s".formatted(device, ioctl, Errno.name(errno));
  }

  private static String permissionDenied(String device) {
    try {
      PosixFileAttributes attributes =
          Files.readAttributes(Path.of(device), PosixFileAttributes.class);
      return String.format(
          Locale.ENGLISH,
          "%s: permission denied (owner %s, group %s, mode %s); the driver creates it root-only"
              + " (0600): run as root, or add a udev rule giving a group access and add your user to it",
          device,
          attributes.owner().getName(),
          attributes.group().getName(),
          PosixFilePermissions.toString(attributes.permissions()));
    } catch (IOException | UnsupportedOperationException e) {
      return device
          + ": permission denied; run as root, or add a udev rule giving a group access to it";
    }
  }
}
