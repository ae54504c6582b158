package dev.glint.hv.kvm.internal;

import dev.glint.hv.VcpuExit;
import dev.glint.hv.kvm.internal.sys.Kvm;
import dev.glint.hv.kvm.internal.sys.KvmRun;
import java.lang.foreign.MemorySegment;
import java.util.Locale;

/**
 * Decodes {@code kvm_run} after {@code KVM_RUN} returned 0 into a {@link VcpuExit}; {@code
 * KVM_EXIT_IO} is decoded by {@link KvmPortIo}, which keeps string I/O state across exits.
 */
final class KvmExits {
  static final VcpuExit.Halt HALT = new VcpuExit.Halt();
  static final VcpuExit.Shutdown SHUTDOWN = new VcpuExit.Shutdown();
  static final VcpuExit.Cancelled CANCELLED = new VcpuExit.Cancelled();

  private KvmExits() {}

  static VcpuExit decode(MemorySegment run) {
    int reason = KvmRun.exitReason(run);
    return switch (reason) {
      case Kvm.KVM_EXIT_MMIO -> mmio(run);
      case Kvm.KVM_EXIT_HLT -> HALT;
      case Kvm.KVM_EXIT_SHUTDOWN -> SHUTDOWN;
      case Kvm.KVM_EXIT_INTR -> CANCELLED;
      case Kvm.KVM_EXIT_FAIL_ENTRY ->
          new VcpuExit.FailEntry(
              KvmRun.failEntryReason(run),
              String.format(
                  Locale.ENGLISH,
                  "KVM_EXIT_FAIL_ENTRY: hardware entry failure reason 0x%x on cpu %d",
                  KvmRun.failEntryReason(run),
                  KvmRun.failEntryCpu(run)));
      case Kvm.KVM_EXIT_INTERNAL_ERROR -> {
        int suberror = KvmRun.internalSuberror(run);
        long[] data = KvmRun.internalData(run);
        StringBuilder description =
            new StringBuilder("KVM_EXIT_INTERNAL_ERROR: ").append(Kvm.internalErrorName(suberror));
        if (data.length > 0) {
          description.append(", data [");
          for (int i = 0; i < data.length; i++) {
            description.append(i == 0 ? "0x" : ", 0x").append(Long.toHexString(data[i]));
          }
          description.append(']');
        }
        yield new VcpuExit.InternalError(Integer.toUnsignedLong(suberror), description.toString());
      }
      case Kvm.KVM_EXIT_UNKNOWN ->
          new VcpuExit.Unknown(
              reason,
              "KVM_EXIT_UNKNOWN: hardware exit reason 0x"
                  + Long.toHexString(KvmRun.hardwareExitReason(run)));
      default -> new VcpuExit.Unknown(Integer.toUnsignedLong(reason), Kvm.exitName(reason));
    };
  }

  private static VcpuExit mmio(MemorySegment run) {
    long address = KvmRun.mmioAddress(run);
    int length = KvmRun.mmioLength(run);
    if (length < 1 || length > 8) {
      return new VcpuExit.InternalError(
          0, "KVM_EXIT_MMIO with length %d at GPA 0x%x".formatted(length, address));
    }
    if (KvmRun.mmioIsWrite(run)) {
      return new VcpuExit.MmioWrite(address, length, KvmRun.mmioData(run, length));
    }
    return new VcpuExit.MmioRead(address, length);
  }
}
