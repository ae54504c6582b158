package dev.glint.hv.kvm.internal.sys;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.UnionLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct kvm_run} of {@code /usr/include/linux/kvm.h} (x86, linux-libc-dev 6.1): the page
 * shared between KVM and the vCPU thread, mapped from the vCPU fd, with {@code KVM_RUN}. Only the
 * exit-union members the backend decodes are spelled out (io, mmio, fail_entry, internal, hw); the
 * union is padded to its 256 bytes. The {@code s} union holds {@code struct kvm_sync_regs} (regs,
 * sregs, events), padded to 2048 bytes.
 *
 * <p>The layout's names: the anonymous exit union is called {@code exit} here (C code names its
 * members directly, {@code run->io.port}).
 */
public final class KvmRun {
  private static final StructLayout IO =
      MemoryLayout.structLayout(
          JAVA_BYTE.withName("direction"),
          JAVA_BYTE.withName("size"),
          JAVA_SHORT.withName("port"),
          JAVA_INT.withName("count"),
          JAVA_LONG.withName("data_offset"));

  private static final StructLayout MMIO =
      MemoryLayout.structLayout(
          JAVA_LONG.withName("phys_addr"),
          MemoryLayout.sequenceLayout(8, JAVA_BYTE).withName("data"),
          JAVA_INT.withName("len"),
          JAVA_BYTE.withName("is_write"),
          MemoryLayout.paddingLayout(3));

  private static final StructLayout FAIL_ENTRY =
      MemoryLayout.structLayout(
          JAVA_LONG.withName("hardware_entry_failure_reason"),
          JAVA_INT.withName("cpu"),
          MemoryLayout.paddingLayout(4));

  private static final StructLayout INTERNAL =
      MemoryLayout.structLayout(
          JAVA_INT.withName("suberror"),
          JAVA_INT.withName("ndata"),
          MemoryLayout.sequenceLayout(16, JAVA_LONG).withName("data"));

  private static final StructLayout HW =
      MemoryLayout.structLayout(JAVA_LONG.withName("hardware_exit_reason"));

  private static final UnionLayout EXIT =
      MemoryLayout.unionLayout(
          HW.withName("hw"),
          FAIL_ENTRY.withName("fail_entry"),
          IO.withName("io"),
          MMIO.withName("mmio"),
          INTERNAL.withName("internal"),
          MemoryLayout.paddingLayout(256));

  /** {@code struct kvm_vcpu_events}: not decoded, only its size matters. */
  public static final MemoryLayout EVENTS = MemoryLayout.sequenceLayout(64, JAVA_BYTE);

  /** {@code struct kvm_sync_regs}. */
  public static final StructLayout SYNC_REGS =
      MemoryLayout.structLayout(
          KvmRegs.LAYOUT.withName("regs"),
          KvmSregs.LAYOUT.withName("sregs"),
          EVENTS.withName("events"));

  /** {@code struct kvm_run}, 2352 bytes. */
  public static final StructLayout LAYOUT =
      MemoryLayout.structLayout(
          JAVA_BYTE.withName("request_interrupt_window"),
          JAVA_BYTE.withName("immediate_exit"),
          MemoryLayout.sequenceLayout(6, JAVA_BYTE).withName("padding1"),
          JAVA_INT.withName("exit_reason"),
          JAVA_BYTE.withName("ready_for_interrupt_injection"),
          JAVA_BYTE.withName("if_flag"),
          JAVA_SHORT.withName("flags"),
          JAVA_LONG.withName("cr8"),
          JAVA_LONG.withName("apic_base"),
          EXIT.withName("exit"),
          JAVA_LONG.withName("kvm_valid_regs"),
          JAVA_LONG.withName("kvm_dirty_regs"),
          MemoryLayout.unionLayout(SYNC_REGS.withName("regs"), MemoryLayout.paddingLayout(2048))
              .withName("s"));

  public static final long KVM_RUN = Ioctl.io(Ioctl.KVMIO, 0x80);

  /** Offset of {@code s.regs.regs} (a {@code kvm_regs}) in {@code kvm_run}. */
  public static final long SYNC_REGS_REGS =
      LAYOUT.byteOffset(groupElement("s"), groupElement("regs"), groupElement("regs"));

  /** Offset of {@code s.regs.sregs} (a {@code kvm_sregs}) in {@code kvm_run}. */
  public static final long SYNC_REGS_SREGS =
      LAYOUT.byteOffset(groupElement("s"), groupElement("regs"), groupElement("sregs"));

  private static final VarHandle IMMEDIATE_EXIT = run("immediate_exit");
  private static final VarHandle EXIT_REASON = run("exit_reason");
  private static final VarHandle CR8 = run("cr8");
  private static final VarHandle VALID_REGS = run("kvm_valid_regs");
  private static final VarHandle DIRTY_REGS = run("kvm_dirty_regs");
  private static final VarHandle IO_DIRECTION = exit("io", "direction");
  private static final VarHandle IO_SIZE = exit("io", "size");
  private static final VarHandle IO_PORT = exit("io", "port");
  private static final VarHandle IO_COUNT = exit("io", "count");
  private static final VarHandle IO_DATA_OFFSET = exit("io", "data_offset");
  private static final VarHandle MMIO_PHYS_ADDR = exit("mmio", "phys_addr");
  private static final VarHandle MMIO_LEN = exit("mmio", "len");
  private static final VarHandle MMIO_IS_WRITE = exit("mmio", "is_write");
  private static final VarHandle FAIL_REASON = exit("fail_entry", "hardware_entry_failure_reason");
  private static final VarHandle FAIL_CPU = exit("fail_entry", "cpu");
  private static final VarHandle INTERNAL_SUBERROR = exit("internal", "suberror");
  private static final VarHandle INTERNAL_NDATA = exit("internal", "ndata");
  private static final VarHandle HW_EXIT_REASON = exit("hw", "hardware_exit_reason");

  private static final long MMIO_DATA =
      LAYOUT.byteOffset(groupElement("exit"), groupElement("mmio"), groupElement("data"));
  private static final long INTERNAL_DATA =
      LAYOUT.byteOffset(groupElement("exit"), groupElement("internal"), groupElement("data"));

  private KvmRun() {}

  private static VarHandle run(String name) {
    return LAYOUT.varHandle(groupElement(name));
  }

  private static VarHandle exit(String member, String field) {
    return LAYOUT.varHandle(groupElement("exit"), groupElement(member), groupElement(field));
  }

  /**
   * Maps the {@code kvm_run} area of a vCPU: {@code mmap(NULL, size, PROT_READ|PROT_WRITE,
   * MAP_SHARED, vcpuFd, 0)}.
   *
   * @param size {@code KVM_GET_VCPU_MMAP_SIZE}, at least {@code LAYOUT.byteSize()}
   * @return the mapped segment, or {@code null} with {@code errno[0]} set on failure; unmap it with
   *     {@link Libc#munmap}
   */
  public static MemorySegment map(int vcpuFd, long size, int[] errno) {
    long address = Libc.mmap(size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, vcpuFd);
    if (address < 0) {
      errno[0] = (int) -address;
      return null;
    }
    return Libc.view(address, size);
  }

  /**
   * Sets {@code immediate_exit} with a volatile write, so the vCPU thread's next {@code KVM_RUN}
   * (or the one just entering) sees it.
   */
  public static void setImmediateExit(MemorySegment run, boolean value) {
    IMMEDIATE_EXIT.setVolatile(run, 0L, value ? (byte) 1 : (byte) 0);
  }

  /** {@return {@code exit_reason}} */
  public static int exitReason(MemorySegment run) {
    return (int) EXIT_REASON.get(run, 0L);
  }

  /**
   * Sets {@code cr8}, which KVM loads into the vCPU on every {@code KVM_RUN} (no in-kernel APIC).
   */
  public static void setCr8(MemorySegment run, long value) {
    CR8.set(run, 0L, value);
  }

  /** Sets {@code kvm_valid_regs}: the sync-register sets KVM stores after every run. */
  public static void setValidRegs(MemorySegment run, long bits) {
    VALID_REGS.set(run, 0L, bits);
  }

  /** {@return {@code kvm_dirty_regs}: the sets KVM still has to load (it clears what it loaded)} */
  public static long dirtyRegs(MemorySegment run) {
    return (long) DIRTY_REGS.get(run, 0L);
  }

  /** Sets {@code kvm_dirty_regs}: the sync-register sets KVM loads at the next run. */
  public static void setDirtyRegs(MemorySegment run, long bits) {
    DIRTY_REGS.set(run, 0L, bits);
  }

  /** {@return {@code io.direction}: {@link Kvm#KVM_EXIT_IO_IN} or {@link Kvm#KVM_EXIT_IO_OUT}} */
  public static int ioDirection(MemorySegment run) {
    return Byte.toUnsignedInt((byte) IO_DIRECTION.get(run, 0L));
  }

  /** {@return {@code io.size}, bytes per item} */
  public static int ioSize(MemorySegment run) {
    return Byte.toUnsignedInt((byte) IO_SIZE.get(run, 0L));
  }

  /** {@return {@code io.port}} */
  public static int ioPort(MemorySegment run) {
    return Short.toUnsignedInt((short) IO_PORT.get(run, 0L));
  }

  /** {@return {@code io.count}, the number of items (more than 1 for {@code rep ins/outs})} */
  public static long ioCount(MemorySegment run) {
    return Integer.toUnsignedLong((int) IO_COUNT.get(run, 0L));
  }

  /** {@return {@code io.data_offset}: where the data lies, from the start of the mapping} */
  public static long ioDataOffset(MemorySegment run) {
    return (long) IO_DATA_OFFSET.get(run, 0L);
  }

  /** {@return {@code mmio.phys_addr}} */
  public static long mmioAddress(MemorySegment run) {
    return (long) MMIO_PHYS_ADDR.get(run, 0L);
  }

  /** {@return {@code mmio.len}, in bytes} */
  public static int mmioLength(MemorySegment run) {
    return (int) MMIO_LEN.get(run, 0L);
  }

  /** {@return {@code mmio.is_write}} */
  public static boolean mmioIsWrite(MemorySegment run) {
    return (byte) MMIO_IS_WRITE.get(run, 0L) != 0;
  }

  /** {@return the first {@code size} bytes of {@code mmio.data}, little-endian, zero-extended} */
  public static long mmioData(MemorySegment run, int size) {
    return readLittleEndian(run, MMIO_DATA, size);
  }

  /** Writes the low {@code size} bytes of {@code value} into {@code mmio.data}. */
  public static void setMmioData(MemorySegment run, int size, long value) {
    writeLittleEndian(run, MMIO_DATA, size, value);
  }

  /** {@return the {@code size}-byte I/O value at {@code io.data_offset}, zero-extended} */
  public static long ioData(MemorySegment run, long dataOffset, int size) {
    return readLittleEndian(run, dataOffset, size);
  }

  /** Writes the low {@code size} bytes of {@code value} at {@code io.data_offset}. */
  public static void setIoData(MemorySegment run, long dataOffset, int size, long value) {
    writeLittleEndian(run, dataOffset, size, value);
  }

  /** {@return {@code fail_entry.hardware_entry_failure_reason}} */
  public static long failEntryReason(MemorySegment run) {
    return (long) FAIL_REASON.get(run, 0L);
  }

  /** {@return {@code fail_entry.cpu}} */
  public static int failEntryCpu(MemorySegment run) {
    return (int) FAIL_CPU.get(run, 0L);
  }

  /** {@return {@code internal.suberror}} */
  public static int internalSuberror(MemorySegment run) {
    return (int) INTERNAL_SUBERROR.get(run, 0L);
  }

  /** {@return {@code internal.data[0..ndata)}, at most 16 values} */
  public static long[] internalData(MemorySegment run) {
    int n = Math.clamp(Integer.toUnsignedLong((int) INTERNAL_NDATA.get(run, 0L)), 0, 16);
    long[] data = new long[n];
    for (int i = 0; i < n; i++) {
      data[i] = run.get(JAVA_LONG, INTERNAL_DATA + 8L * i);
    }
    return data;
  }

  /** {@return {@code hw.hardware_exit_reason}} */
  public static long hardwareExitReason(MemorySegment run) {
    return (long) HW_EXIT_REASON.get(run, 0L);
  }

  private static long readLittleEndian(MemorySegment run, long offset, int size) {
    long value = 0;
    for (int i = 0; i < size; i++) {
      value |= Byte.toUnsignedLong(run.get(ValueLayout.JAVA_BYTE, offset + i)) << (8 * i);
    }
    return value;
  }

  private static void writeLittleEndian(MemorySegment run, long offset, int size, long value) {
    for (int i = 0; i < size; i++) {
      run.set(ValueLayout.JAVA_BYTE, offset + i, (byte) (value >>> (8 * i)));
    }
  }
}
