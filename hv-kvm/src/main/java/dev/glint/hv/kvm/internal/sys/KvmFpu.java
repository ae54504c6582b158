package dev.glint.hv.kvm.internal.sys;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.glint.hv.FpuState;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct kvm_fpu} of {@code /usr/include/asm/kvm.h} (x86, linux-libc-dev 6.1), 416 bytes,
 * and {@code KVM_GET_FPU}/{@code KVM_SET_FPU}: the FXSAVE-area view of the x87 and SSE state.
 */
public final class KvmFpu {
  /** The layout; member names are the C names. */
  public static final StructLayout LAYOUT =
      MemoryLayout.structLayout(
          MemoryLayout.sequenceLayout(FpuState.X87_BYTES, JAVA_BYTE).withName("fpr"),
          JAVA_SHORT.withName("fcw"),
          JAVA_SHORT.withName("fsw"),
          JAVA_BYTE.withName("ftwx"),
          JAVA_BYTE.withName("pad1"),
          JAVA_SHORT.withName("last_opcode"),
          JAVA_LONG.withName("last_ip"),
          JAVA_LONG.withName("last_dp"),
          MemoryLayout.sequenceLayout(FpuState.XMM_BYTES, JAVA_BYTE).withName("xmm"),
          JAVA_INT.withName("mxcsr"),
          JAVA_INT.withName("pad2"));

  public static final long KVM_GET_FPU = Ioctl.ior(Ioctl.KVMIO, 0x8c, LAYOUT.byteSize());
  public static final long KVM_SET_FPU = Ioctl.iow(Ioctl.KVMIO, 0x8d, LAYOUT.byteSize());

  private static final long FPR = LAYOUT.byteOffset(groupElement("fpr"));
  private static final long FCW = LAYOUT.byteOffset(groupElement("fcw"));
  private static final long FSW = LAYOUT.byteOffset(groupElement("fsw"));
  private static final long FTWX = LAYOUT.byteOffset(groupElement("ftwx"));
  private static final long LAST_OPCODE = LAYOUT.byteOffset(groupElement("last_opcode"));
  private static final long LAST_IP = LAYOUT.byteOffset(groupElement("last_ip"));
  private static final long LAST_DP = LAYOUT.byteOffset(groupElement("last_dp"));
  private static final long XMM = LAYOUT.byteOffset(groupElement("xmm"));
  private static final long MXCSR = LAYOUT.byteOffset(groupElement("mxcsr"));

  private KvmFpu() {}

  /** {@return a zeroed buffer for one {@code struct kvm_fpu}, living as long as {@code arena}} */
  public static MemorySegment allocate(Arena arena) {
    return arena.allocate(LAYOUT);
  }

  /** {@return the state in {@code segment}} */
  public static FpuState read(MemorySegment segment) {
    return new FpuState(
        segment.asSlice(FPR, FpuState.X87_BYTES).toArray(JAVA_BYTE),
        Short.toUnsignedInt(segment.get(JAVA_SHORT, FCW)),
        Short.toUnsignedInt(segment.get(JAVA_SHORT, FSW)),
        Byte.toUnsignedInt(segment.get(JAVA_BYTE, FTWX)),
        Short.toUnsignedInt(segment.get(JAVA_SHORT, LAST_OPCODE)),
        segment.get(JAVA_LONG, LAST_IP),
        segment.get(JAVA_LONG, LAST_DP),
        segment.asSlice(XMM, FpuState.XMM_BYTES).toArray(JAVA_BYTE),
        segment.get(JAVA_INT, MXCSR));
  }

  /** Stores {@code state} in {@code segment}, padding zeroed. */
  public static void write(MemorySegment segment, FpuState state) {
    segment.asSlice(0, LAYOUT.byteSize()).fill((byte) 0);
    MemorySegment.copy(state.x87(), 0, segment, JAVA_BYTE, FPR, FpuState.X87_BYTES);
    segment.set(JAVA_SHORT, FCW, (short) state.fcw());
    segment.set(JAVA_SHORT, FSW, (short) state.fsw());
    segment.set(JAVA_BYTE, FTWX, (byte) state.ftw());
    segment.set(JAVA_SHORT, LAST_OPCODE, (short) state.lastOpcode());
    segment.set(JAVA_LONG, LAST_IP, state.lastInstructionPointer());
    segment.set(JAVA_LONG, LAST_DP, state.lastDataPointer());
    MemorySegment.copy(state.xmm(), 0, segment, JAVA_BYTE, XMM, FpuState.XMM_BYTES);
    segment.set(JAVA_INT, MXCSR, state.mxcsr());
  }
}
