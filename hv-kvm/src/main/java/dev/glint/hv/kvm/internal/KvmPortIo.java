package dev.glint.hv.kvm.internal;

import dev.glint.hv.VcpuExit;
import dev.glint.hv.kvm.internal.sys.Kvm;
import dev.glint.hv.kvm.internal.sys.KvmRun;
import java.lang.foreign.MemorySegment;

/**
 * One {@code KVM_EXIT_IO}, handed out item by item. {@code io.count} is 1 for {@code in}/{@code
 * out}; for string I/O ({@code rep ins/outs}) KVM may batch several items, {@code count * size}
 * bytes at {@code io.data_offset} of the vCPU mapping, which become as many {@link VcpuExit.IoOut}
 * or {@link VcpuExit.IoIn} exits before the next {@code KVM_RUN} completes them all. (PVM's
 * emulator exits once per item; VMX and SVM hosts batch.)
 *
 * <p>Public only so that tests can drive it over a synthetic {@code kvm_run}; the module exports
 * nothing. Not thread-safe: owned by its {@link KvmVcpu}.
 */
public final class KvmPortIo {
  private boolean in;
  private int port;
  private int size;
  private long count;
  private long index;
  private long dataOffset;

  /** Creates an empty state (no items left). */
  public KvmPortIo() {}

  /**
   * Starts on the {@code KVM_EXIT_IO} in {@code run}.
   *
   * @return the first item, or an {@link VcpuExit.InternalError} if the exit makes no sense
   */
  public VcpuExit begin(MemorySegment run) {
    in = KvmRun.ioDirection(run) == Kvm.KVM_EXIT_IO_IN;
    port = KvmRun.ioPort(run);
    size = KvmRun.ioSize(run);
    count = KvmRun.ioCount(run);
    dataOffset = KvmRun.ioDataOffset(run);
    index = 0;
    boolean sane =
        (size == 1 || size == 2 || size == 4)
            && count >= 1
            && dataOffset >= KvmRun.LAYOUT.byteSize()
            && dataOffset <= run.byteSize() - count * size;
    if (!sane) {
      long badCount = count;
      count = 0;
      return new VcpuExit.InternalError(
          0,
          "KVM_EXIT_IO that Glint cannot decode: port 0x%x, size %d, count %d, data offset 0x%x"
              .formatted(port, size, badCount, dataOffset));
    }
    return next(run);
  }

  /** {@return whether items are left, to hand out before the next {@code KVM_RUN}} */
  public boolean hasNext() {
    return index < count;
  }

  /**
   * {@return the current item} An {@code out} item is consumed at once; an {@code in} item when
   * {@link #answer} supplies its value.
   */
  public VcpuExit next(MemorySegment run) {
    if (in) {
      return new VcpuExit.IoIn(port, size);
    }
    long offset = dataOffset + index * size;
    index++;
    return new VcpuExit.IoOut(port, size, KvmRun.ioData(run, offset, size));
  }

  /** Writes the value of the current {@code in} item where KVM reads it, and moves on. */
  public void answer(MemorySegment run, long value) {
    KvmRun.setIoData(run, dataOffset + index * size, size, value);
    index++;
  }
}
