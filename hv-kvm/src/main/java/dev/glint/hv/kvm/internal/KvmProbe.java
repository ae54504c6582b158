package dev.glint.hv.kvm.internal;

import dev.glint.hv.Availability;
import dev.glint.hv.Capability;
import dev.glint.hv.PrivilegedExecution;
import dev.glint.hv.kvm.internal.sys.Errno;
import dev.glint.hv.kvm.internal.sys.Kvm;
import dev.glint.hv.kvm.internal.sys.KvmCpuid2;
import dev.glint.hv.kvm.internal.sys.KvmRun;
import dev.glint.hv.kvm.internal.sys.Libc;
import dev.glint.hv.kvm.internal.sys.Sigaction;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Finds out once per process whether KVM works here, by opening {@code /dev/kvm} and asking it (the
 * Netty way), and installs the vCPU kick signal's handler. The answer is computed in a holder
 * class, so neither loading this class nor probing twice can fail or deadlock.
 */
final class KvmProbe {
  static final String DEVICE = "/dev/kvm";
  static final String DISABLE_PROPERTY = "glint.hv.kvm.disable";
  static final String SIGNAL_PROPERTY = "glint.hv.kvm.signal";
  static final int DEFAULT_SIGNAL = 40;

  /** The cached outcome: the availability, and the host facts when available. */
  record Result(Availability availability, Optional<KvmHost> host) {}

  private static final class Holder {
    static final Result RESULT = computeSafely();
  }

  private KvmProbe() {}

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

  private static Result computeSafely() {
    try {
      Result result = compute();
      System.getLogger("dev.glint.hv.kvm")
          .log(System.Logger.Level.DEBUG, () -> "kvm: probe: " + result.availability());
      return result;
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable t) {
      return new Result(
          new Availability.Unavailable("probing KVM failed unexpectedly: " + t, Optional.of(t)),
          Optional.empty());
    }
  }

  private static Result compute() {
    String os = System.getProperty("os.name", "");
    String arch = System.getProperty("os.arch", "");
    if (!os.startsWith("Linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
      return unavailable("the KVM backend needs Linux on x86-64; this is " + os + " on " + arch);
    }
    Optional<String> nativeProblem = Libc.unavailableReason();
    if (nativeProblem.isPresent()) {
      return unavailable(nativeProblem.get());
    }
    int fd = Libc.open(DEVICE, Libc.O_RDWR | Libc.O_CLOEXEC);
    if (fd < 0) {
      return unavailable(openFailure(-fd));
    }
    int version;
    int userMemory;
    int slots;
    int syncRegs;
    int readOnly;
    int immediateExit;
    int mmapSize;
    int dirtyRingCapability = 0;
    int dirtyRingBytes = 0;
    int[] cpuid;
    int[] errno = new int[1];
    try {
      version = Libc.ioctl(fd, Kvm.KVM_GET_API_VERSION, 0L);
      if (version != Kvm.KVM_API_VERSION) {
        return unavailable(
            version < 0
                ? "KVM_GET_API_VERSION on " + DEVICE + " failed: " + Errno.name(-version)
                : "KVM API version %d on %s; Glint needs %d"
                    .formatted(version, DEVICE, Kvm.KVM_API_VERSION));
      }
      userMemory = Libc.ioctl(fd, Kvm.KVM_CHECK_EXTENSION, Kvm.KVM_CAP_USER_MEMORY);
      if (userMemory <= 0) {
        return unavailable("KVM here lacks KVM_CAP_USER_MEMORY, which Glint needs to map memory");
      }
      slots = Libc.ioctl(fd, Kvm.KVM_CHECK_EXTENSION, Kvm.KVM_CAP_NR_MEMSLOTS);
      syncRegs = Libc.ioctl(fd, Kvm.KVM_CHECK_EXTENSION, Kvm.KVM_CAP_SYNC_REGS);
      readOnly = Libc.ioctl(fd, Kvm.KVM_CHECK_EXTENSION, Kvm.KVM_CAP_READONLY_MEM);
      immediateExit = Libc.ioctl(fd, Kvm.KVM_CHECK_EXTENSION, Kvm.KVM_CAP_IMMEDIATE_EXIT);
      // x86 is TSO and offers both ring capabilities; the plain one is the one it has had since
      // 5.11. ACQ_REL (6.1+) only adds ordering demands on userspace, which KvmDirtyRing meets
      // anyway, so it is taken only where the plain one is missing.
      for (int capability :
          new int[] {Kvm.KVM_CAP_DIRTY_LOG_RING, Kvm.KVM_CAP_DIRTY_LOG_RING_ACQ_REL}) {
        int bytes = Libc.ioctl(fd, Kvm.KVM_CHECK_EXTENSION, capability);
        if (bytes > 0) {
          dirtyRingCapability = capability;
          dirtyRingBytes = bytes;
          break;
        }
      }
      mmapSize = Libc.ioctl(fd, Kvm.KVM_GET_VCPU_MMAP_SIZE, 0L);
      if (mmapSize < KvmRun.LAYOUT.byteSize()) {
        return unavailable(
            mmapSize < 0
                ? "KVM_GET_VCPU_MMAP_SIZE failed: " + Errno.name(-mmapSize)
                : "KVM_GET_VCPU_MMAP_SIZE is %d, smaller than struct kvm_run (%d)"
                    .formatted(mmapSize, KvmRun.LAYOUT.byteSize()));
      }
      cpuid = KvmCpuid2.supported(fd, errno);
      if (cpuid == null) {
        return unavailable("KVM_GET_SUPPORTED_CPUID failed: " + Errno.name(errno[0]));
      }
    } finally {
      Libc.close(fd);
    }

    int syncMask = Kvm.KVM_SYNC_X86_REGS | Kvm.KVM_SYNC_X86_SREGS;
    EnumSet<Capability> capabilities =
        EnumSet.of(
            Capability.DIRTY_PAGE_TRACKING,
            Capability.UNMAP,
            Capability.REAL_MODE,
            Capability.USER_MODE_ENTRY,
            Capability.COPY_ON_WRITE_IMAGES);
    if (readOnly > 0) {
      capabilities.add(Capability.READ_ONLY_MEMORY);
    }
    int signal = Integer.getInteger(SIGNAL_PROPERTY, DEFAULT_SIGNAL);
    Optional<String> cancelProblem =
        immediateExit > 0
            ? Sigaction.installNoOpHandler(signal, SIGNAL_PROPERTY)
            : Optional.of("KVM here lacks KVM_CAP_IMMEDIATE_EXIT");
    if (cancelProblem.isEmpty()) {
      capabilities.add(Capability.CANCEL);
    } else {
      System.getLogger("dev.glint.hv.kvm")
          .log(
              System.Logger.Level.WARNING,
              "kvm: vCPU cancellation is unavailable: " + cancelProblem.get());
    }
    PrivilegedExecution privileged =
        Files.exists(Path.of("/sys/module/kvm_pvm"))
            ? PrivilegedExecution.EMULATED
            : PrivilegedExecution.NATIVE;
    if (privileged == PrivilegedExecution.NATIVE) {
      // Measured on PVM: KVM_SET_FPU and KVM_GET_FPU return 0 but do nothing (the guest does not
      // see what was set, and the read gives all zeros, even MXCSR), as KVM does for a vCPU whose
      // FPU state the host may not access. So the capability is claimed only off PVM.
      capabilities.add(Capability.FPU_STATE);
    }
    String description = describe(version, privileged);
    KvmHost host =
        new KvmHost(
            description,
            capabilities,
            privileged,
            (syncRegs & syncMask) == syncMask,
            // KVM_CAP_NR_MEMSLOTS answers 0 on kernels that predate it; they have 32 slots.
            slots > 0 ? slots : 32,
            mmapSize,
            cpuid,
            KvmCpuid2.physicalAddressBits(cpuid, 36),
            cancelProblem.isEmpty() ? signal : 0,
            cancelProblem,
            dirtyRingCapability,
            dirtyRingBytes);
    return new Result(
        new Availability.Available(description, capabilities, privileged), Optional.of(host));
  }

  private static String describe(int version, PrivilegedExecution privileged) {
    String base = "KVM API " + version;
    if (privileged == PrivilegedExecution.EMULATED) {
      return base + " on kvm_pvm (PVM: CPL-0 guest code emulated)";
    }
    for (String module : Set.of("kvm_intel", "kvm_amd")) {
      if (Files.exists(Path.of("/sys/module", module))) {
        return base + " on " + module;
      }
    }
    return base;
  }

  private static String openFailure(int errno) {
    return switch (errno) {
      case Errno.ENOENT, Errno.ENODEV, Errno.ENXIO ->
          "no " + DEVICE + ": load the kvm module or enable virtualization";
      case Errno.EACCES, Errno.EPERM -> permissionDenied();
      default -> "cannot open " + DEVICE + ": " + Errno.name(errno);
    };
  }

  private static String permissionDenied() {
    try {
      PosixFileAttributes attributes =
          Files.readAttributes(Path.of(DEVICE), PosixFileAttributes.class);
      return String.format(
          Locale.ENGLISH,
          "%s: permission denied (owner %s, group %s, mode %s); add your user to group %s",
          DEVICE,
          attributes.owner().getName(),
          attributes.group().getName(),
          PosixFilePermissions.toString(attributes.permissions()),
          attributes.group().getName());
    } catch (IOException | UnsupportedOperationException e) {
      return DEVICE + ": permission denied; add your user to group kvm";
    }
  }
}
