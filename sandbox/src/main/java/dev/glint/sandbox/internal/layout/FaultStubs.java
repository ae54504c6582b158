package dev.glint.sandbox.internal.layout;

import java.util.Arrays;

/**
 * The host-written CPL-0 fault handlers of ABI §6: one 16-byte stub per vector 0..31 that pushes
 * the vector (and a zero error code where the CPU pushes none), and one common tail that loads the
 * interrupt frame into registers and signals FAULT.
 *
 * <p>Every gate uses IST1, so the frame is always on the fault stack, even after a stack overflow
 * at CPL 0. The registers at the FAULT exit: RAX vector, RBX error code, RCX RIP, R8 CS, RSI RSP,
 * RDI CR2, RDX the port 0x105 ({@code out dx, al} needs the port in DX, so CS goes in R8).
 */
public final class FaultStubs {
  private FaultStubs() {}

  /** The number of vectors with a stub. */
  public static final int VECTORS = 32;

  /** The size of one stub slot. */
  public static final int STUB_SIZE = 16;

  /** The FAULT port. */
  public static final int FAULT_PORT = 0x105;

  /** The offset of the common tail in the stub page. */
  public static final int COMMON_OFFSET = VECTORS * STUB_SIZE;

  /**
   * The common tail, entered with the vector and the error code on top of the interrupt frame.
   * Assembled with GNU as (intel syntax) and checked with objdump.
   *
   * <pre>
   *   58                pop rax               ; vector
   *   5b                pop rbx               ; error code (0 if the CPU pushed none)
   *   48 8b 0c 24       mov rcx, [rsp]        ; RIP of the faulting instruction
   *   4c 8b 44 24 08    mov r8, [rsp+8]       ; CS of the faulting context
   *   48 8b 74 24 18    mov rsi, [rsp+0x18]   ; RSP of the faulting context
   *   0f 20 d7          mov rdi, cr2
   *   ba 05 01 00 00    mov edx, 0x105        ; FAULT
   *   ee                out dx, al
   *   f4             1: hlt                   ; the host never resumes a faulted guest
   *   eb fd             jmp 1b
   * </pre>
   */
  static final byte[] COMMON = {
    0x58,
    0x5b,
    0x48,
    (byte) 0x8b,
    0x0c,
    0x24,
    0x4c,
    (byte) 0x8b,
    0x44,
    0x24,
    0x08,
    0x48,
    (byte) 0x8b,
    0x74,
    0x24,
    0x18,
    0x0f,
    0x20,
    (byte) 0xd7,
    (byte) 0xba,
    0x05,
    0x01,
    0x00,
    0x00,
    (byte) 0xee,
    (byte) 0xf4,
    (byte) 0xeb,
    (byte) 0xfd
  };

  /** {@return whether the CPU pushes an error code for exception {@code vector}} */
  public static boolean hasErrorCode(int vector) {
    return switch (vector) {
      case 8, 10, 11, 12, 13, 14, 17, 21, 29, 30 -> true;
      default -> false;
    };
  }

  /**
   * {@return the stub for {@code vector}, {@link #STUB_SIZE} bytes}
   *
   * <pre>
   *   6a 00            push 0             ; only for vectors without an error code
   *   6a vv            push vector
   *   e9 rr rr rr rr   jmp common         ; rel32 from the end of the jmp
   *   90 ...           nop                ; padding to 16 bytes
   * </pre>
   */
  static byte[] stub(int vector) {
    byte[] stub = new byte[STUB_SIZE];
    Arrays.fill(stub, (byte) 0x90);
    int at = 0;
    if (!hasErrorCode(vector)) {
      stub[at++] = 0x6a;
      stub[at++] = 0x00;
    }
    stub[at++] = 0x6a;
    stub[at++] = (byte) vector;
    stub[at++] = (byte) 0xe9;
    int rel = COMMON_OFFSET - (vector * STUB_SIZE + at + 4);
    for (int i = 0; i < 4; i++) {
      stub[at + i] = (byte) (rel >>> (8 * i));
    }
    return stub;
  }

  /** {@return the whole stub page content: 32 stubs, then the common tail} */
  public static byte[] page() {
    byte[] page = new byte[COMMON_OFFSET + COMMON.length];
    for (int vector = 0; vector < VECTORS; vector++) {
      System.arraycopy(stub(vector), 0, page, vector * STUB_SIZE, STUB_SIZE);
    }
    System.arraycopy(COMMON, 0, page, COMMON_OFFSET, COMMON.length);
    return page;
  }

  /** {@return the conventional name of exception {@code vector}, such as "#PF (page fault)"} */
  public static String vectorName(long vector) {
    return switch ((int) Math.min(Math.max(vector, -1), 32)) {
      case 0 -> "#DE (divide error)";
      case 1 -> "#DB (debug)";
      case 2 -> "NMI";
      case 3 -> "#BP (breakpoint)";
      case 4 -> "#OF (overflow)";
      case 5 -> "#BR (bound range exceeded)";
      case 6 -> "#UD (invalid opcode)";
      case 7 -> "#NM (device not available)";
      case 8 -> "#DF (double fault)";
      case 10 -> "#TS (invalid TSS)";
      case 11 -> "#NP (segment not present)";
      case 12 -> "#SS (stack-segment fault)";
      case 13 -> "#GP (general protection)";
      case 14 -> "#PF (page fault)";
      case 16 -> "#MF (x87 floating-point error)";
      case 17 -> "#AC (alignment check)";
      case 18 -> "#MC (machine check)";
      case 19 -> "#XM (SIMD floating-point exception)";
      case 20 -> "#VE (virtualization exception)";
      case 21 -> "#CP (control protection)";
      default -> "vector " + vector;
    };
  }
}
