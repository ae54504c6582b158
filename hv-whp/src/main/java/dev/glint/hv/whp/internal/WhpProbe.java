package dev.glint.hv.whp.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.glint.hv.Availability;
import dev.glint.hv.Capability;
import dev.glint.hv.PrivilegedExecution;
import dev.glint.hv.whp.internal.sys.HResult;
import dev.glint.hv.whp.internal.sys.WhvConstants;
import dev.glint.hv.whp.internal.sys.WhvRegisterValue;
import dev.glint.hv.whp.internal.sys.WinHvPlatform;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Optional;

/**
 * Finds out once per process whether the Windows Hypervisor Platform works here, by loading the
 * library and asking it (the Netty way): {@code WHvGetCapability} for the hypervisor's presence,
 * its features, the processor vendor and features, then one partition created, set up and deleted.
 * The answer is computed in a holder class, so neither loading this class nor probing twice can
 * fail or deadlock.
 */
final class WhpProbe {
  static final String DISABLE_PROPERTY = "glint.hv.whp.disable";

  /** The cached outcome: the availability, and the host facts when available. */
  record Result(Availability availability, Optional<WhpHost> host) {}

  private static final class Holder {
    static final Result RESULT = computeSafely();
  }

  private WhpProbe() {}

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
      System.getLogger("dev.glint.hv.whp")
          .log(System.Logger.Level.DEBUG, () -> "whp: probe: " + result.availability());
      return result;
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable t) {
      return new Result(
          new Availability.Unavailable(
              "probing the Windows Hypervisor Platform failed unexpectedly: " + t, Optional.of(t)),
          Optional.empty());
    }
  }

  private static Result compute() {
    String os = System.getProperty("os.name", "");
    String arch = System.getProperty("os.arch", "");
    String library = System.getProperty(WinHvPlatform.LIBRARY_PROPERTY, "").strip();
    boolean windows = os.toLowerCase(Locale.ROOT).startsWith("windows");
    if (!(arch.equals("amd64") || arch.equals("x86_64"))) {
      return unavailable("the WHP backend needs an x86-64 host; this is " + arch);
    }
    if (!windows && library.isEmpty()) {
      return unavailable(
          "the Windows Hypervisor Platform exists only on Windows; this is %s (a test double of WinHvPlatform.dll can be named with -D%s=<path>)"
              .formatted(os, WinHvPlatform.LIBRARY_PROPERTY));
    }
    WinHvPlatform platform;
    try {
      platform = WinHvPlatform.load(library.isEmpty() ? null : library);
    } catch (WinHvPlatform.LoadException e) {
      return new Result(
          new Availability.Unavailable(e.getMessage(), Optional.ofNullable(e.getCause())),
          Optional.empty());
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment written = arena.allocate(JAVA_INT);
      MemorySegment present = arena.allocate(JAVA_INT);
      int hr =
          platform.getCapability(WhvConstants.WHvCapabilityCodeHypervisorPresent, present, written);
      if (!HResult.succeeded(hr)) {
        return unavailable(
            "WHvGetCapability(HypervisorPresent) failed: %s (from %s)"
                .formatted(HResult.name(hr), platform.source()));
      }
      if (present.get(JAVA_INT, 0) == 0) {
        return unavailable(
            "the hypervisor is not present: enable Hyper-V (bcdedit /set hypervisorlaunchtype auto)"
                + " and virtualization (VT-x/AMD-V) in the firmware, then restart (asked "
                + platform.source()
                + ")");
      }
      MemorySegment features = arena.allocate(JAVA_LONG);
      hr = platform.getCapability(WhvConstants.WHvCapabilityCodeFeatures, features, written);
      if (!HResult.succeeded(hr)) {
        return unavailable("WHvGetCapability(Features) failed: " + HResult.name(hr));
      }
      long featureBits = features.get(JAVA_LONG, 0);
      MemorySegment vendor = arena.allocate(JAVA_INT);
      hr = platform.getCapability(WhvConstants.WHvCapabilityCodeProcessorVendor, vendor, written);
      String vendorName =
          !HResult.succeeded(hr)
              ? "unknown vendor"
              : switch (vendor.get(JAVA_INT, 0)) {
                case WhvConstants.WHvProcessorVendorIntel -> "Intel";
                case WhvConstants.WHvProcessorVendorAmd -> "AMD";
                case WhvConstants.WHvProcessorVendorHygon -> "Hygon";
                default -> "vendor " + vendor.get(JAVA_INT, 0);
              };
      MemorySegment processor = arena.allocate(JAVA_LONG);
      hr =
          platform.getCapability(
              WhvConstants.WHvCapabilityCodeProcessorFeatures, processor, written);
      long processorBits = HResult.succeeded(hr) ? processor.get(JAVA_LONG, 0) : 0;

      EnumSet<Capability> capabilities =
          EnumSet.of(
              Capability.READ_ONLY_MEMORY,
              Capability.UNMAP,
              Capability.CANCEL,
              Capability.REAL_MODE,
              Capability.USER_MODE_ENTRY);
      if ((featureBits & WhvConstants.WHV_CAPABILITY_FEATURES_DIRTY_PAGE_TRACKING) != 0) {
        capabilities.add(Capability.DIRTY_PAGE_TRACKING);
      }
      // Doing the real thing once: a partition with one VP, and whether x87/SSE state set through
      // the registers reads back (it does not through KVM on PVM, where the double sits on
      // KVM_SET_FPU, which does nothing there).
      Optional<String> problem = tryPartition(platform, arena, capabilities);
      if (problem.isPresent()) {
        return unavailable(problem.get());
      }
      PrivilegedExecution privileged = privilegedExecution(windows);
      String description =
          "Windows Hypervisor Platform (%s%s%s) on %s%s"
              .formatted(
                  (featureBits & WhvConstants.WHV_CAPABILITY_FEATURES_DIRTY_PAGE_TRACKING) != 0
                      ? "dirty-page tracking"
                      : "no dirty-page tracking",
                  (processorBits & WhvConstants.WHV_PROCESSOR_FEATURES_SSE4_2) != 0
                      ? ", SSE4.2"
                      : "",
                  (processorBits & WhvConstants.WHV_PROCESSOR_FEATURES_AES) != 0 ? ", AES" : "",
                  vendorName,
                  windows ? "" : ", through " + platform.source());
      WhpHost host = new WhpHost(platform, description, capabilities, privileged);
      return new Result(
          new Availability.Available(description, capabilities, privileged), Optional.of(host));
    }
  }

  /**
   * WHP is hardware virtualization: guest code runs natively at every level. A test double on Linux
   * runs the guest on the host's KVM, which on a PVM host ({@code kvm_pvm}) emulates CPL-0 code:
   * that is reported, since it is where the guest really runs.
   */
  private static PrivilegedExecution privilegedExecution(boolean windows) {
    return !windows && Files.exists(Path.of("/sys/module/kvm_pvm"))
        ? PrivilegedExecution.EMULATED
        : PrivilegedExecution.NATIVE;
  }

  /** Creates, sets up and deletes a partition with one VP; adds FPU_STATE if XMM0 round-trips. */
  private static Optional<String> tryPartition(
      WinHvPlatform platform, Arena arena, EnumSet<Capability> capabilities) {
    MemorySegment handleOut = arena.allocate(ADDRESS);
    int hr = platform.createPartition(handleOut);
    if (!HResult.succeeded(hr)) {
      return Optional.of(
          "WHvCreatePartition failed: %s; is the Windows Hypervisor Platform feature enabled?"
              .formatted(HResult.name(hr)));
    }
    MemorySegment partition = handleOut.get(ADDRESS, 0);
    try {
      MemorySegment count = arena.allocate(JAVA_INT);
      count.set(JAVA_INT, 0, 1);
      hr =
          platform.setPartitionProperty(
              partition, WhvConstants.WHvPartitionPropertyCodeProcessorCount, count);
      if (!HResult.succeeded(hr)) {
        return Optional.of("WHvSetPartitionProperty(ProcessorCount) failed: " + HResult.name(hr));
      }
      hr = platform.setupPartition(partition);
      if (!HResult.succeeded(hr)) {
        return Optional.of("WHvSetupPartition failed: " + HResult.name(hr));
      }
      hr = platform.createVirtualProcessor(partition, 0);
      if (!HResult.succeeded(hr)) {
        return Optional.of("WHvCreateVirtualProcessor failed: " + HResult.name(hr));
      }
      if (fpuStateWorks(platform, partition, arena)) {
        capabilities.add(Capability.FPU_STATE);
      }
      WhpErrors.released(
          platform.deleteVirtualProcessor(partition, 0), "WHvDeleteVirtualProcessor", "probe VP");
      return Optional.empty();
    } finally {
      WhpErrors.released(platform.deletePartition(partition), "WHvDeletePartition", "probe");
    }
  }

  /**
   * {@return whether x87/SSE state is really reachable through the registers} A fresh VP must show
   * the architectural reset MXCSR (0x1F80), and XMM0 and MXCSR written must read back. Through the
   * double on a PVM host neither holds (KVM_GET/SET_FPU do nothing there), so the capability is
   * reported absent rather than faked.
   */
  private static boolean fpuStateWorks(
      WinHvPlatform platform, MemorySegment partition, Arena arena) {
    MemorySegment names = arena.allocate(JAVA_INT, 2);
    names.setAtIndex(JAVA_INT, 0, WhvConstants.WHvX64RegisterXmm0);
    names.setAtIndex(JAVA_INT, 1, WhvConstants.WHvX64RegisterXmmControlStatus);
    MemorySegment fresh = WhvRegisterValue.allocate(arena, 2);
    if (!HResult.succeeded(platform.getRegisters(partition, 0, names, 2, fresh))
        || fresh.get(JAVA_INT, 16 + 8) != 0x1F80) {
      return false;
    }
    MemorySegment value = WhvRegisterValue.allocate(arena, 2);
    value.set(JAVA_LONG, 0, 0x0123_4567_89AB_CDEFL);
    value.set(JAVA_LONG, 8, 0x0FED_CBA9_8765_4321L);
    value.set(JAVA_INT, 16 + 8, 0x1FA0);
    value.set(JAVA_INT, 16 + 12, 0xFFFF);
    MemorySegment back = WhvRegisterValue.allocate(arena, 2);
    return HResult.succeeded(platform.setRegisters(partition, 0, names, 2, value))
        && HResult.succeeded(platform.getRegisters(partition, 0, names, 2, back))
        && back.asSlice(0, 16).mismatch(value.asSlice(0, 16)) == -1
        && back.get(JAVA_INT, 16 + 8) == 0x1FA0;
  }
}
