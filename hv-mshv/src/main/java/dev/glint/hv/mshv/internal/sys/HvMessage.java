package dev.glint.hv.mshv.internal.sys;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import dev.glint.hv.Segment;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * The 256-byte {@code struct hv_message} that {@code MSHV_RUN_VP} copies out, and the x64 intercept
 * messages in its payload. Layouts from {@code include/hyperv/hvgdk_mini.h} ({@code hv_message},
 * {@code hv_message_header}, {@code enum hv_message_type}) and {@code include/hyperv/hvhdk.h}
 * ({@code hv_x64_intercept_message_header}, {@code hv_x64_memory_intercept_message}, {@code
 * hv_x64_io_port_intercept_message}), all {@code __packed}; bit-fields are read as whole bytes or
 * words with the documented bit positions. Checked by {@code MshvLayoutTest}.
 *
 * <p>The accessors read a message the guest's behaviour shaped, so callers validate what they use
 * (sizes, counts); nothing here trusts a length field to index memory beyond the message.
 */
public final class HvMessage {
  /** {@code struct hv_message_header}: 16 bytes. */
  public static final StructLayout HEADER =
      MemoryLayout.structLayout(
              JAVA_INT_UNALIGNED.withName("message_type"),
              JAVA_BYTE.withName("payload_size"),
              JAVA_BYTE.withName("message_flags"),
              MemoryLayout.sequenceLayout(2, JAVA_BYTE).withName("reserved"),
              JAVA_LONG_UNALIGNED.withName("sender"))
          .withName("hv_message_header");

  /** {@code struct hv_message}: 256 bytes. */
  public static final StructLayout MESSAGE =
      MemoryLayout.structLayout(
              HEADER.withName("header"),
              MemoryLayout.sequenceLayout(30, JAVA_LONG_UNALIGNED).withName("payload"))
          .withName("hv_message");

  /** {@code struct hv_x64_intercept_message_header}: 40 bytes. */
  public static final StructLayout INTERCEPT_HEADER =
      MemoryLayout.structLayout(
              JAVA_INT_UNALIGNED.withName("vp_index"),
              JAVA_BYTE.withName("instruction_length_cr8"),
              JAVA_BYTE.withName("intercept_access_type"),
              JAVA_SHORT_UNALIGNED.withName("execution_state"),
              HvRegisters.SEGMENT.withName("cs_segment"),
              JAVA_LONG_UNALIGNED.withName("rip"),
              JAVA_LONG_UNALIGNED.withName("rflags"))
          .withName("hv_x64_intercept_message_header");

  /** {@code struct hv_x64_memory_intercept_message}: 80 bytes. */
  public static final StructLayout MEMORY_INTERCEPT =
      MemoryLayout.structLayout(
              INTERCEPT_HEADER.withName("header"),
              JAVA_INT_UNALIGNED.withName("cache_type"),
              JAVA_BYTE.withName("instruction_byte_count"),
              JAVA_BYTE.withName("memory_access_info"),
              JAVA_BYTE.withName("tpr_priority"),
              JAVA_BYTE.withName("reserved1"),
              JAVA_LONG_UNALIGNED.withName("guest_virtual_address"),
              JAVA_LONG_UNALIGNED.withName("guest_physical_address"),
              MemoryLayout.sequenceLayout(16, JAVA_BYTE).withName("instruction_bytes"))
          .withName("hv_x64_memory_intercept_message");

  /** {@code struct hv_x64_io_port_intercept_message}: 128 bytes. */
  public static final StructLayout IO_PORT_INTERCEPT =
      MemoryLayout.structLayout(
              INTERCEPT_HEADER.withName("header"),
              JAVA_SHORT_UNALIGNED.withName("port_number"),
              JAVA_BYTE.withName("access_info"),
              JAVA_BYTE.withName("instruction_byte_count"),
              JAVA_INT_UNALIGNED.withName("reserved"),
              JAVA_LONG_UNALIGNED.withName("rax"),
              MemoryLayout.sequenceLayout(16, JAVA_BYTE).withName("instruction_bytes"),
              HvRegisters.SEGMENT.withName("ds_segment"),
              HvRegisters.SEGMENT.withName("es_segment"),
              JAVA_LONG_UNALIGNED.withName("rcx"),
              JAVA_LONG_UNALIGNED.withName("rsi"),
              JAVA_LONG_UNALIGNED.withName("rdi"))
          .withName("hv_x64_io_port_intercept_message");

  public static final int HV_MESSAGE_SIZE = 256;
  public static final int HV_MESSAGE_PAYLOAD_BYTE_COUNT = 240;

  public static final int HVMSG_NONE = 0x00000000;
  public static final int HVMSG_UNMAPPED_GPA = 0x80000000;
  public static final int HVMSG_GPA_INTERCEPT = 0x80000001;
  public static final int HVMSG_TIMER_EXPIRED = 0x80000010;
  public static final int HVMSG_INVALID_VP_REGISTER_VALUE = 0x80000020;
  public static final int HVMSG_UNRECOVERABLE_EXCEPTION = 0x80000021;
  public static final int HVMSG_UNSUPPORTED_FEATURE = 0x80000022;
  public static final int HVMSG_X64_IO_PORT_INTERCEPT = 0x80010000;
  public static final int HVMSG_X64_MSR_INTERCEPT = 0x80010001;
  public static final int HVMSG_X64_CPUID_INTERCEPT = 0x80010002;
  public static final int HVMSG_X64_EXCEPTION_INTERCEPT = 0x80010003;
  public static final int HVMSG_X64_HALT = 0x80010007;

  public static final int HV_INTERCEPT_ACCESS_READ = 0;
  public static final int HV_INTERCEPT_ACCESS_WRITE = 1;
  public static final int HV_INTERCEPT_ACCESS_EXECUTE = 2;

  /** {@code execution_state} bits: cpl 0-1, cr0_pe 2, efer_lma 4. */
  public static final int HV_EXECUTION_STATE_CR0_PE = 1 << 2;

  public static final int HV_EXECUTION_STATE_EFER_LMA = 1 << 4;

  /** {@code hv_x64_io_port_access_info} bits: access_size 0-2, string_op 3, rep_prefix 4. */
  public static final int HV_IO_ACCESS_STRING_OP = 1 << 3;

  public static final int HV_IO_ACCESS_REP_PREFIX = 1 << 4;

  /** The payload's offset in the message. */
  public static final long PAYLOAD = MESSAGE.byteOffset(groupElement("payload"));

  private static final long TYPE = HEADER.byteOffset(groupElement("message_type"));
  private static final long LENGTH =
      PAYLOAD + INTERCEPT_HEADER.byteOffset(groupElement("instruction_length_cr8"));
  private static final long ACCESS =
      PAYLOAD + INTERCEPT_HEADER.byteOffset(groupElement("intercept_access_type"));
  private static final long STATE =
      PAYLOAD + INTERCEPT_HEADER.byteOffset(groupElement("execution_state"));
  private static final long CS = PAYLOAD + INTERCEPT_HEADER.byteOffset(groupElement("cs_segment"));
  private static final long RIP = PAYLOAD + INTERCEPT_HEADER.byteOffset(groupElement("rip"));
  private static final long MEM_COUNT =
      PAYLOAD + MEMORY_INTERCEPT.byteOffset(groupElement("instruction_byte_count"));
  private static final long MEM_GPA =
      PAYLOAD + MEMORY_INTERCEPT.byteOffset(groupElement("guest_physical_address"));
  private static final long MEM_BYTES =
      PAYLOAD + MEMORY_INTERCEPT.byteOffset(groupElement("instruction_bytes"));
  private static final long IO_PORT =
      PAYLOAD + IO_PORT_INTERCEPT.byteOffset(groupElement("port_number"));
  private static final long IO_ACCESS =
      PAYLOAD + IO_PORT_INTERCEPT.byteOffset(groupElement("access_info"));
  private static final long IO_RAX = PAYLOAD + IO_PORT_INTERCEPT.byteOffset(groupElement("rax"));
  private static final long IO_COUNT =
      PAYLOAD + IO_PORT_INTERCEPT.byteOffset(groupElement("instruction_byte_count"));
  private static final long IO_BYTES =
      PAYLOAD + IO_PORT_INTERCEPT.byteOffset(groupElement("instruction_bytes"));
  private static final long IO_RCX = PAYLOAD + IO_PORT_INTERCEPT.byteOffset(groupElement("rcx"));
  private static final long IO_RSI = PAYLOAD + IO_PORT_INTERCEPT.byteOffset(groupElement("rsi"));
  private static final long IO_RDI = PAYLOAD + IO_PORT_INTERCEPT.byteOffset(groupElement("rdi"));
  private static final long RFLAGS = PAYLOAD + INTERCEPT_HEADER.byteOffset(groupElement("rflags"));

  private HvMessage() {}

  /** {@return {@code header.message_type}} */
  public static int type(MemorySegment message) {
    return message.get(JAVA_INT_UNALIGNED, TYPE);
  }

  /** {@return the intercept header's {@code instruction_length} (bits 0-3)} */
  public static int instructionLength(MemorySegment message) {
    return message.get(JAVA_BYTE, LENGTH) & 0xF;
  }

  /** {@return the intercept header's {@code intercept_access_type}} */
  public static int accessType(MemorySegment message) {
    return Byte.toUnsignedInt(message.get(JAVA_BYTE, ACCESS));
  }

  /** {@return the intercept header's {@code execution_state}} */
  public static int executionState(MemorySegment message) {
    return Short.toUnsignedInt(message.get(JAVA_SHORT_UNALIGNED, STATE));
  }

  /** {@return the intercept header's code segment} */
  public static Segment codeSegment(MemorySegment message) {
    return HvRegisters.decodeSegment(message, CS);
  }

  /** {@return the intercept header's {@code rip}} */
  public static long rip(MemorySegment message) {
    return message.get(JAVA_LONG_UNALIGNED, RIP);
  }

  /** {@return a memory intercept's {@code guest_physical_address}} */
  public static long guestPhysicalAddress(MemorySegment message) {
    return message.get(JAVA_LONG_UNALIGNED, MEM_GPA);
  }

  /** {@return a memory intercept's instruction bytes, at most 16 whatever the count says} */
  public static byte[] instructionBytes(MemorySegment message) {
    int count = Math.min(16, Byte.toUnsignedInt(message.get(JAVA_BYTE, MEM_COUNT)));
    byte[] bytes = new byte[count];
    MemorySegment.copy(message, JAVA_BYTE, MEM_BYTES, bytes, 0, count);
    return bytes;
  }

  /** {@return an I/O intercept's {@code port_number}} */
  public static int port(MemorySegment message) {
    return Short.toUnsignedInt(message.get(JAVA_SHORT_UNALIGNED, IO_PORT));
  }

  /** {@return an I/O intercept's {@code access_info}} */
  public static int ioAccessInfo(MemorySegment message) {
    return Byte.toUnsignedInt(message.get(JAVA_BYTE, IO_ACCESS));
  }

  /** {@return an I/O intercept's {@code rax}} */
  public static long ioRax(MemorySegment message) {
    return message.get(JAVA_LONG_UNALIGNED, IO_RAX);
  }

  /** {@return the intercept header's {@code rflags}} */
  public static long rflags(MemorySegment message) {
    return message.get(JAVA_LONG_UNALIGNED, RFLAGS);
  }

  /** {@return an I/O intercept's instruction bytes, at most 16 whatever the count says} */
  public static byte[] ioInstructionBytes(MemorySegment message) {
    int count = Math.min(16, Byte.toUnsignedInt(message.get(JAVA_BYTE, IO_COUNT)));
    byte[] bytes = new byte[count];
    MemorySegment.copy(message, JAVA_BYTE, IO_BYTES, bytes, 0, count);
    return bytes;
  }

  /** {@return an I/O intercept's {@code rcx}} */
  public static long ioRcx(MemorySegment message) {
    return message.get(JAVA_LONG_UNALIGNED, IO_RCX);
  }

  /** {@return an I/O intercept's {@code rsi}} */
  public static long ioRsi(MemorySegment message) {
    return message.get(JAVA_LONG_UNALIGNED, IO_RSI);
  }

  /** {@return an I/O intercept's {@code rdi}} */
  public static long ioRdi(MemorySegment message) {
    return message.get(JAVA_LONG_UNALIGNED, IO_RDI);
  }

  /** {@return the name of a message type, or its hexadecimal value} */
  public static String typeName(int type) {
    return switch (type) {
      case HVMSG_NONE -> "HVMSG_NONE";
      case HVMSG_UNMAPPED_GPA -> "HVMSG_UNMAPPED_GPA";
      case HVMSG_GPA_INTERCEPT -> "HVMSG_GPA_INTERCEPT";
      case HVMSG_TIMER_EXPIRED -> "HVMSG_TIMER_EXPIRED";
      case HVMSG_INVALID_VP_REGISTER_VALUE -> "HVMSG_INVALID_VP_REGISTER_VALUE";
      case HVMSG_UNRECOVERABLE_EXCEPTION -> "HVMSG_UNRECOVERABLE_EXCEPTION";
      case HVMSG_UNSUPPORTED_FEATURE -> "HVMSG_UNSUPPORTED_FEATURE";
      case HVMSG_X64_IO_PORT_INTERCEPT -> "HVMSG_X64_IO_PORT_INTERCEPT";
      case HVMSG_X64_MSR_INTERCEPT -> "HVMSG_X64_MSR_INTERCEPT";
      case HVMSG_X64_CPUID_INTERCEPT -> "HVMSG_X64_CPUID_INTERCEPT";
      case HVMSG_X64_EXCEPTION_INTERCEPT -> "HVMSG_X64_EXCEPTION_INTERCEPT";
      case HVMSG_X64_HALT -> "HVMSG_X64_HALT";
      default -> "message type 0x" + Integer.toHexString(type);
    };
  }
}
