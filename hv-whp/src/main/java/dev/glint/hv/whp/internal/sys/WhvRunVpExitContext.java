package dev.glint.hv.whp.internal.sys;

import static java.lang.foreign.MemoryLayout.sequenceLayout;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.MemoryLayout.unionLayout;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code WHV_RUN_VP_EXIT_CONTEXT}, the 224-byte output of {@code WHvRunVirtualProcessor}, and the
 * exit contexts the backend reads, from the documentation of {@code WHvRunVirtualProcessor} and its
 * exit-context pages: {@code WHV_VP_EXIT_CONTEXT} (40 bytes), {@code WHV_MEMORY_ACCESS_CONTEXT}
 * (40), {@code WHV_X64_IO_PORT_ACCESS_CONTEXT} (96), {@code WHV_X64_UNSUPPORTED_FEATURE_CONTEXT}
 * (16), {@code WHV_RUN_VP_CANCELED_CONTEXT} (4). The union is sized by the larger contexts this
 * backend does not read (176 bytes).
 */
public final class WhvRunVpExitContext {
  private WhvRunVpExitContext() {}

  /** {@code WHV_VP_EXIT_CONTEXT}; byte 2 holds InstructionLength (bits 0-3) and Cr8 (4-7). */
  public static final StructLayout VP_CONTEXT =
      structLayout(
              JAVA_SHORT.withName("ExecutionState"),
              JAVA_BYTE.withName("InstructionLengthCr8"),
              JAVA_BYTE.withName("Reserved"),
              JAVA_INT.withName("Reserved2"),
              WhvRegisterValue.SEGMENT.withName("Cs"),
              JAVA_LONG.withName("Rip"),
              JAVA_LONG.withName("Rflags"))
          .withName("WHV_VP_EXIT_CONTEXT");

  /** {@code WHV_MEMORY_ACCESS_CONTEXT}. */
  public static final StructLayout MEMORY_ACCESS =
      structLayout(
              JAVA_BYTE.withName("InstructionByteCount"),
              sequenceLayout(3, JAVA_BYTE).withName("Reserved"),
              sequenceLayout(16, JAVA_BYTE).withName("InstructionBytes"),
              JAVA_INT.withName("AccessInfo"),
              JAVA_LONG.withName("Gpa"),
              JAVA_LONG.withName("Gva"))
          .withName("WHV_MEMORY_ACCESS_CONTEXT");

  /** {@code WHV_X64_IO_PORT_ACCESS_CONTEXT}. */
  public static final StructLayout IO_PORT_ACCESS =
      structLayout(
              JAVA_BYTE.withName("InstructionByteCount"),
              sequenceLayout(3, JAVA_BYTE).withName("Reserved"),
              sequenceLayout(16, JAVA_BYTE).withName("InstructionBytes"),
              JAVA_INT.withName("AccessInfo"),
              JAVA_SHORT.withName("PortNumber"),
              sequenceLayout(3, JAVA_SHORT).withName("Reserved2"),
              JAVA_LONG.withName("Rax"),
              JAVA_LONG.withName("Rcx"),
              JAVA_LONG.withName("Rsi"),
              JAVA_LONG.withName("Rdi"),
              WhvRegisterValue.SEGMENT.withName("Ds"),
              WhvRegisterValue.SEGMENT.withName("Es"))
          .withName("WHV_X64_IO_PORT_ACCESS_CONTEXT");

  /** {@code WHV_X64_UNSUPPORTED_FEATURE_CONTEXT}. */
  public static final StructLayout UNSUPPORTED_FEATURE =
      structLayout(
              JAVA_INT.withName("FeatureCode"),
              JAVA_INT.withName("Reserved"),
              JAVA_LONG.withName("FeatureParameter"))
          .withName("WHV_X64_UNSUPPORTED_FEATURE_CONTEXT");

  /** {@code WHV_RUN_VP_CANCELED_CONTEXT}. */
  public static final StructLayout CANCELED =
      structLayout(JAVA_INT.withName("CancelReason")).withName("WHV_RUN_VP_CANCELED_CONTEXT");

  /** {@code WHV_RUN_VP_EXIT_CONTEXT}: 224 bytes. */
  public static final StructLayout LAYOUT =
      structLayout(
              JAVA_INT.withName("ExitReason"),
              JAVA_INT.withName("Reserved"),
              VP_CONTEXT.withName("VpContext"),
              unionLayout(
                      MEMORY_ACCESS.withName("MemoryAccess"),
                      IO_PORT_ACCESS.withName("IoPortAccess"),
                      UNSUPPORTED_FEATURE.withName("UnsupportedFeature"),
                      CANCELED.withName("CancelReason"),
                      sequenceLayout(22, JAVA_LONG).withName("AsUINT64"))
                  .withName("u"))
          .withName("WHV_RUN_VP_EXIT_CONTEXT");

  private static long offset(String... path) {
    PathElement[] elements = new PathElement[path.length];
    for (int i = 0; i < path.length; i++) {
      elements[i] = PathElement.groupElement(path[i]);
    }
    return LAYOUT.byteOffset(elements);
  }

  static final long EXIT_REASON = offset("ExitReason");
  static final long EXECUTION_STATE = offset("VpContext", "ExecutionState");
  static final long INSTRUCTION_LENGTH_CR8 = offset("VpContext", "InstructionLengthCr8");
  static final long CS = offset("VpContext", "Cs");
  static final long RIP = offset("VpContext", "Rip");
  static final long RFLAGS = offset("VpContext", "Rflags");
  static final long UNION = offset("u");
  static final long MEMORY_BYTE_COUNT = offset("u", "MemoryAccess", "InstructionByteCount");
  static final long MEMORY_BYTES = offset("u", "MemoryAccess", "InstructionBytes");
  static final long MEMORY_ACCESS_INFO = offset("u", "MemoryAccess", "AccessInfo");
  static final long MEMORY_GPA = offset("u", "MemoryAccess", "Gpa");
  static final long IO_BYTE_COUNT = offset("u", "IoPortAccess", "InstructionByteCount");
  static final long IO_BYTES = offset("u", "IoPortAccess", "InstructionBytes");
  static final long IO_ACCESS_INFO = offset("u", "IoPortAccess", "AccessInfo");
  static final long IO_PORT = offset("u", "IoPortAccess", "PortNumber");
  static final long IO_RAX = offset("u", "IoPortAccess", "Rax");
  static final long IO_RCX = offset("u", "IoPortAccess", "Rcx");
  static final long IO_RSI = offset("u", "IoPortAccess", "Rsi");
  static final long IO_RDI = offset("u", "IoPortAccess", "Rdi");
  static final long IO_DS = offset("u", "IoPortAccess", "Ds");
  static final long IO_ES = offset("u", "IoPortAccess", "Es");
  static final long FEATURE_CODE = offset("u", "UnsupportedFeature", "FeatureCode");
  static final long FEATURE_PARAMETER = offset("u", "UnsupportedFeature", "FeatureParameter");
  static final long CANCEL_REASON = offset("u", "CancelReason", "CancelReason");

  /** {@return the exit reason} */
  public static int exitReason(MemorySegment c) {
    return c.get(JAVA_INT, EXIT_REASON);
  }

  /** {@return {@code WHV_X64_VP_EXECUTION_STATE} as an unsigned 16-bit value} */
  public static int executionState(MemorySegment c) {
    return Short.toUnsignedInt(c.get(JAVA_SHORT, EXECUTION_STATE));
  }

  /** {@return VpContext.InstructionLength, 0 to 15} */
  public static int instructionLength(MemorySegment c) {
    return c.get(JAVA_BYTE, INSTRUCTION_LENGTH_CR8) & 0xF;
  }

  /** {@return VpContext.Cs} */
  public static dev.glint.hv.Segment cs(MemorySegment c) {
    return WhvRegisterValue.segment(c.asSlice(CS, WhvRegisterValue.BYTES), 0);
  }

  /** {@return VpContext.Rip} */
  public static long rip(MemorySegment c) {
    return c.get(JAVA_LONG, RIP);
  }

  /** {@return VpContext.Rflags} */
  public static long rflags(MemorySegment c) {
    return c.get(JAVA_LONG, RFLAGS);
  }

  /** {@return MemoryAccess.InstructionBytes, InstructionByteCount of them (at most 16)} */
  public static byte[] memoryInstructionBytes(MemorySegment c) {
    return bytes(c, MEMORY_BYTE_COUNT, MEMORY_BYTES);
  }

  /** {@return MemoryAccess.AccessInfo} */
  public static int memoryAccessInfo(MemorySegment c) {
    return c.get(JAVA_INT, MEMORY_ACCESS_INFO);
  }

  /** {@return MemoryAccess.Gpa} */
  public static long memoryGpa(MemorySegment c) {
    return c.get(JAVA_LONG, MEMORY_GPA);
  }

  /** {@return IoPortAccess.InstructionBytes, InstructionByteCount of them (at most 16)} */
  public static byte[] ioInstructionBytes(MemorySegment c) {
    return bytes(c, IO_BYTE_COUNT, IO_BYTES);
  }

  private static byte[] bytes(MemorySegment c, long countOffset, long bytesOffset) {
    int count = Math.min(16, Byte.toUnsignedInt(c.get(JAVA_BYTE, countOffset)));
    byte[] bytes = new byte[count];
    MemorySegment.copy(c, JAVA_BYTE, bytesOffset, bytes, 0, count);
    return bytes;
  }

  /** {@return IoPortAccess.AccessInfo} */
  public static int ioAccessInfo(MemorySegment c) {
    return c.get(JAVA_INT, IO_ACCESS_INFO);
  }

  /** {@return IoPortAccess.PortNumber, 0 to 0xFFFF} */
  public static int ioPort(MemorySegment c) {
    return Short.toUnsignedInt(c.get(JAVA_SHORT, IO_PORT));
  }

  /** {@return IoPortAccess.Rax} */
  public static long ioRax(MemorySegment c) {
    return c.get(JAVA_LONG, IO_RAX);
  }

  /** {@return IoPortAccess.Rcx} */
  public static long ioRcx(MemorySegment c) {
    return c.get(JAVA_LONG, IO_RCX);
  }

  /** {@return IoPortAccess.Rsi} */
  public static long ioRsi(MemorySegment c) {
    return c.get(JAVA_LONG, IO_RSI);
  }

  /** {@return IoPortAccess.Rdi} */
  public static long ioRdi(MemorySegment c) {
    return c.get(JAVA_LONG, IO_RDI);
  }

  /** {@return IoPortAccess.Ds} */
  public static dev.glint.hv.Segment ioDs(MemorySegment c) {
    return WhvRegisterValue.segment(c.asSlice(IO_DS, WhvRegisterValue.BYTES), 0);
  }

  /** {@return IoPortAccess.Es} */
  public static dev.glint.hv.Segment ioEs(MemorySegment c) {
    return WhvRegisterValue.segment(c.asSlice(IO_ES, WhvRegisterValue.BYTES), 0);
  }

  /** {@return UnsupportedFeature.FeatureCode} */
  public static int featureCode(MemorySegment c) {
    return c.get(JAVA_INT, FEATURE_CODE);
  }

  /** {@return UnsupportedFeature.FeatureParameter} */
  public static long featureParameter(MemorySegment c) {
    return c.get(JAVA_LONG, FEATURE_PARAMETER);
  }

  /** {@return CancelReason.CancelReason} */
  public static int cancelReason(MemorySegment c) {
    return c.get(JAVA_INT, CANCEL_REASON);
  }
}
