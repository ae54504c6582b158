package dev.glint.hv.kvm.internal.sys;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.glint.hv.Register;
import dev.glint.hv.Registers;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct kvm_regs} of {@code /usr/include/asm/kvm.h} (x86, linux-libc-dev 6.1): the general
 * registers, RIP and RFLAGS, 18 {@code __u64} in the order of {@link Register}. Used by {@code
 * KVM_GET_REGS}/{@code KVM_SET_REGS} and inside {@code kvm_run->s.regs}.
 */
public final class KvmRegs {
  /** The layout; member names are the C names. */
  public static final StructLayout LAYOUT =
      MemoryLayout.structLayout(
          JAVA_LONG.withName("rax"),
          JAVA_LONG.withName("rbx"),
          JAVA_LONG.withName("rcx"),
          JAVA_LONG.withName("rdx"),
          JAVA_LONG.withName("rsi"),
          JAVA_LONG.withName("rdi"),
          JAVA_LONG.withName("rsp"),
          JAVA_LONG.withName("rbp"),
          JAVA_LONG.withName("r8"),
          JAVA_LONG.withName("r9"),
          JAVA_LONG.withName("r10"),
          JAVA_LONG.withName("r11"),
          JAVA_LONG.withName("r12"),
          JAVA_LONG.withName("r13"),
          JAVA_LONG.withName("r14"),
          JAVA_LONG.withName("r15"),
          JAVA_LONG.withName("rip"),
          JAVA_LONG.withName("rflags"));

  public static final long KVM_GET_REGS = Ioctl.ior(Ioctl.KVMIO, 0x81, LAYOUT.byteSize());
  public static final long KVM_SET_REGS = Ioctl.iow(Ioctl.KVMIO, 0x82, LAYOUT.byteSize());

  /**
   * Member offsets in {@link Register} order. Offsets, not an array of VarHandles: the JIT folds
   * only VarHandles held in static final fields, and an array of them made a read 3x slower.
   */
  private static final long[] OFFSETS = new long[Register.values().length];

  static {
    for (Register register : Register.values()) {
      OFFSETS[register.ordinal()] =
          LAYOUT.byteOffset(
              MemoryLayout.PathElement.groupElement(
                  register.name().toLowerCase(java.util.Locale.ROOT)));
    }
  }

  private KvmRegs() {}

  /** {@return the registers stored at {@code base} in {@code segment}} */
  public static Registers read(MemorySegment segment, long base) {
    long[] values = new long[OFFSETS.length];
    for (int i = 0; i < values.length; i++) {
      values[i] = segment.get(JAVA_LONG, base + OFFSETS[i]);
    }
    return Registers.fromArray(values);
  }

  /** Stores {@code registers} at {@code base} in {@code segment}. */
  public static void write(MemorySegment segment, long base, Registers registers) {
    long[] values = registers.toArray();
    for (int i = 0; i < values.length; i++) {
      segment.set(JAVA_LONG, base + OFFSETS[i], values[i]);
    }
  }
}
