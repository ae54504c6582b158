package dev.glint.hv.conformance;

import java.util.HexFormat;

/**
 * The guest programs of the suite: machine code with its assembly (Intel syntax) beside each
 * instruction. Every program is position-independent; addresses come in registers the test sets
 * (mostly RBX), so a program says nothing about the memory layout. Assembled with GNU {@code as}
 * and checked with {@code objdump -d -M intel}.
 *
 * <p>Programs for 64-bit mode run at CPL 0 or CPL 3 unless noted; at CPL 0 on a PVM host each
 * instruction is emulated (about 1 µs), so they stay short.
 */
final class GuestPrograms {
  private GuestPrograms() {}

  /** The port the fault handlers report on: {@code out 0xE0, eax} with EAX = vector. */
  static final int FAULT_PORT = 0xE0;

  /**
   * The port a program writes to say it is done ({@code out 0x1f, al}), where the test then reads
   * its registers. Unlike {@code hlt} it works at CPL 3 too, and unlike a fault it clobbers no
   * register.
   */
  static final int DONE_PORT = 0x1F;

  /**
   * The common CPL-0 fault handler, entered from the per-vector stubs of {@link #faultStub} with
   * EAX = vector and the error code (or 0) on top of the interrupt frame. It copies the frame into
   * registers and reports with one {@code out}, so the host reads the frame with {@code
   * registers()}: RSI = error code, RBX = RIP, RCX = CS, R8 = RSP, R9 = SS, RDX = CR2. Then it
   * halts.
   */
  static final byte[] FAULT_COMMON =
      hex(
          "5e", //             pop rsi              ; error code
          "48 8b 1c 24", //    mov rbx, [rsp]       ; RIP of the faulting instruction
          "48 8b 4c 24 08", // mov rcx, [rsp+8]     ; CS
          "4c 8b 44 24 18", // mov r8, [rsp+0x18]   ; RSP
          "4c 8b 4c 24 20", // mov r9, [rsp+0x20]   ; SS
          "0f 20 d2", //       mov rdx, cr2
          "e7 e0", //          out 0xe0, eax        ; FAULT_PORT, EAX = vector
          "f4", //         1:  hlt
          "eb fd"); //         jmp 1b

  /** The size of one per-vector stub slot, in bytes. */
  static final int FAULT_STUB_SIZE = 16;

  /**
   * {@return the stub for {@code vector}, {@link #FAULT_STUB_SIZE} bytes, that jumps to the common
   * handler}
   *
   * <pre>
   *   6a 00           push 0            ; only for vectors without an error code
   *   b8 vv 00 00 00  mov eax, vector
   *   e9 rr rr rr rr  jmp common        ; rel32 from the end of the jmp
   *   90 ...          nop               ; padding to 16 bytes
   * </pre>
   *
   * @param vector 0 to 31
   * @param stubAddress where the stub goes
   * @param commonAddress where {@link #FAULT_COMMON} is
   */
  static byte[] faultStub(int vector, long stubAddress, long commonAddress) {
    byte[] stub = new byte[FAULT_STUB_SIZE];
    java.util.Arrays.fill(stub, (byte) 0x90);
    int at = 0;
    if (!hasErrorCode(vector)) {
      stub[at++] = 0x6a;
      stub[at++] = 0x00;
    }
    stub[at++] = (byte) 0xb8;
    putInt(stub, at, vector);
    at += 4;
    stub[at++] = (byte) 0xe9;
    putInt(stub, at, Math.toIntExact(commonAddress - (stubAddress + at + 4)));
    return stub;
  }

  /** {@return whether the CPU pushes an error code for exception {@code vector}} */
  static boolean hasErrorCode(int vector) {
    return switch (vector) {
      case 8, 10, 11, 12, 13, 14, 17, 21, 29, 30 -> true;
      default -> false;
    };
  }

  /** 16-bit real mode: AX = 0x1234 + BX, reported on port 0x10 (2 bytes), then halt. */
  static final byte[] REAL_MODE_ADD =
      hex(
          "b8 34 12", // mov ax, 0x1234   (in 64-bit mode these bytes would be mov eax, imm32)
          "01 d8", //    add ax, bx
          "e7 10", //    out 0x10, ax
          "f4"); //      hlt

  /** RAX = 0x1_FFFF_FFFF + RBX, a 64-bit sum, then halt (CPL 0). */
  static final byte[] ADD_64 =
      hex(
          "48 b8 ff ff ff ff 01 00 00 00", // movabs rax, 0x1ffffffff
          "48 01 d8", //                      add rax, rbx
          "f4"); //                           hlt

  /** The offset of the {@code hlt} of {@link #ADD_64}. */
  static final int ADD_64_HLT = 13;

  /** RAX = 0x1_FFFF_FFFF + RBX, low half out on port 0x10, high half on 0x11 (4 bytes each). */
  static final byte[] ADD_64_OUT =
      hex(
          "48 b8 ff ff ff ff 01 00 00 00", // movabs rax, 0x1ffffffff
          "48 01 d8", //                      add rax, rbx
          "e7 10", //                         out 0x10, eax
          "48 c1 e8 20", //                   shr rax, 32
          "e7 11", //                         out 0x11, eax
          "f4"); //                           hlt

  /** An allowed port (0x10), then a port the TSS bitmap denies (0x80): #GP(0) at offset 4. */
  static final byte[] OUT_ALLOWED_THEN_DENIED =
      hex(
          "b0 5a", // mov al, 0x5a
          "e6 10", // out 0x10, al
          "e6 80", // out 0x80, al   ; offset 4
          "f4"); //   hlt

  /** {@code out} of 1, 2 and 4 bytes to immediate ports and to port DX, then done. */
  static final byte[] OUT_SIZES =
      hex(
          "b8 dd cc bb aa", // mov eax, 0xaabbccdd
          "e6 40", //          out 0x40, al
          "66 e7 41", //       out 0x41, ax
          "e7 42", //          out 0x42, eax
          "66 ba f8 03", //    mov dx, 0x3f8
          "ee", //             out dx, al
          "ef", //             out dx, eax
          "e6 1f", //          out 0x1f, al   ; DONE_PORT
          "f4"); //            hlt

  /**
   * {@code in} of 1, 2 and 4 bytes; the values land in RBX (after the byte), RCX (after the word)
   * and RAX.
   */
  static final byte[] IN_SIZES =
      hex(
          "e4 50", //       in al, 0x50
          "48 89 c3", //    mov rbx, rax
          "66 e5 51", //    in ax, 0x51
          "48 89 c1", //    mov rcx, rax
          "66 ba f8 03", // mov dx, 0x3f8
          "ed", //          in eax, dx    ; a 32-bit result zero-extends into RAX
          "e6 1f", //       out 0x1f, al  ; DONE_PORT
          "f4"); //         hlt

  /**
   * String I/O: {@code rep insb} of 4 bytes from port 0x50 to [RDI], then {@code rep outsb} of the
   * 4 bytes at [RSI] to port 0x51, then done.
   */
  static final byte[] STRING_IO =
      hex(
          "66 ba 50 00", //    mov dx, 0x50
          "b9 04 00 00 00", // mov ecx, 4
          "f3 6c", //          rep insb        ; byte [rdi++] = in(dx), 4 times
          "66 ba 51 00", //    mov dx, 0x51
          "b9 04 00 00 00", // mov ecx, 4
          "f3 6e", //          rep outsb       ; out(dx, byte [rsi++]), 4 times
          "e6 1f", //          out 0x1f, al    ; DONE_PORT
          "f4"); //            hlt

  /** Halt, then report 0x600D on port 0x10 (so the run after a halt continues), then halt. */
  static final byte[] HALT_THEN_OUT =
      hex(
          "f4", //             hlt
          "b8 0d 60 00 00", // mov eax, 0x600d
          "e7 10", //          out 0x10, eax
          "f4"); //            hlt

  /** MMIO at RBX: three writes (4, 1, 8 bytes), three reads (4, 2, 8 bytes), then done. */
  static final byte[] MMIO =
      hex(
          "c7 43 10 ef be ad de", // mov dword [rbx+0x10], 0xdeadbeef
          "c6 43 01 5a", //          mov byte [rbx+0x1], 0x5a
          "48 89 4b 18", //          mov [rbx+0x18], rcx
          "8b 43 20", //             mov eax, [rbx+0x20]
          "66 8b 53 30", //          mov dx, [rbx+0x30]
          "48 8b 73 28", //          mov rsi, [rbx+0x28]
          "e6 1f", //                out 0x1f, al   ; DONE_PORT
          "f4"); //                  hlt

  /** RAX = XMM0 (low 64 bits), XMM1 = RBX (upper half zeroed), then done. */
  static final byte[] XMM_EXCHANGE =
      hex(
          "66 48 0f 7e c0", // movq rax, xmm0
          "66 48 0f 6e cb", // movq xmm1, rbx
          "e6 1f", //          out 0x1f, al   ; DONE_PORT
          "f4"); //            hlt

  /** Reads [RBX] into EAX, writes 0x55667788 there, reads it again into ECX, halts. */
  static final byte[] READ_WRITE_READ =
      hex(
          "8b 03", //             mov eax, [rbx]
          "c7 03 88 77 66 55", // mov dword [rbx], 0x55667788
          "8b 0b", //             mov ecx, [rbx]
          "f4"); //               hlt

  /** RAX = [RBX] + 1, stored at [RDI] and at [RBX+8], then halt. */
  static final byte[] COPY_INCREMENTED =
      hex(
          "48 8b 03", //    mov rax, [rbx]
          "48 83 c0 01", // add rax, 1
          "48 89 07", //    mov [rdi], rax
          "48 89 43 08", // mov [rbx+8], rax
          "f4"); //         hlt

  /** Writes 0x11111111 to [RBX], halts, writes 0x22222222 there, halts. */
  static final byte[] WRITE_TWICE =
      hex(
          "c7 03 11 11 11 11", // mov dword [rbx], 0x11111111
          "f4", //                hlt
          "c7 03 22 22 22 22", // mov dword [rbx], 0x22222222
          "f4"); //               hlt

  /** Stores RCX at [RBX], halts. */
  static final byte[] STORE_RCX =
      hex(
          "48 89 0b", // mov [rbx], rcx
          "f4"); //      hlt

  /**
   * Reports on port 0x10 that it starts spinning, spins until the byte at [RBX] is non-zero, then
   * reports 0x600D on port 0x11 (4 bytes).
   */
  static final byte[] SPIN_UNTIL_FLAG =
      hex(
          "e6 10", //          out 0x10, al
          "80 3b 00", //   1:  cmp byte [rbx], 0
          "74 fb", //          je 1b
          "b8 0d 60 00 00", // mov eax, 0x600d
          "e7 11", //          out 0x11, eax
          "f4"); //            hlt

  /** Writes EAX to port 0x10, then EAX to port 0x11 (so the host can change RAX in between). */
  static final byte[] OUT_EAX_TWICE =
      hex(
          "e7 10", // out 0x10, eax
          "e7 11", // out 0x11, eax
          "f4"); //   hlt

  /**
   * Copies 16 bytes from [RBX] to [RBX+16] through XMM0, then done: runs only if the mode enables
   * SSE (CR0.EM clear, CR4.OSFXSR set), as compiled guest code expects.
   */
  static final byte[] SSE_COPY =
      hex(
          "f3 0f 6f 03", //    movdqu xmm0, [rbx]
          "f3 0f 7f 43 10", // movdqu [rbx+0x10], xmm0
          "e6 1f", //          out 0x1f, al   ; DONE_PORT
          "f4"); //            hlt

  /** Divides by zero: #DE at offset 2. */
  static final byte[] DIVIDE_BY_ZERO =
      hex(
          "31 c9", // xor ecx, ecx
          "f7 f1"); // div ecx

  /** The offset of the spin loop's first instruction in {@link #SPIN_UNTIL_FLAG}. */
  static final int SPIN_LOOP_START = 2;

  /** The offset just after the spin loop's last instruction in {@link #SPIN_UNTIL_FLAG}. */
  static final int SPIN_LOOP_END = 7;

  /** {@code ud2}: raises #UD. */
  static final byte[] UD2 = hex("0f 0b"); // ud2

  /**
   * Writes pages 1, 3 and 4 of the region at RBX (one byte, the last dword, a qword), reads page 6,
   * says done; then writes page 2 and says done again.
   */
  static final byte[] WRITE_PAGES_1_3_4_THEN_2 =
      hex(
          "c6 83 00 10 00 00 01", //       mov byte [rbx+0x1000], 1
          "c7 83 fc 3f 00 00 02 00 00 00", // mov dword [rbx+0x3ffc], 2
          "48 89 8b 00 40 00 00", //       mov [rbx+0x4000], rcx
          "48 8b 83 00 60 00 00", //       mov rax, [rbx+0x6000]
          "e6 1f", //                      out 0x1f, al   ; DONE_PORT
          "c6 83 00 28 00 00 03", //       mov byte [rbx+0x2800], 3
          "e6 1f", //                      out 0x1f, al   ; DONE_PORT
          "f4"); //                        hlt

  /** Writes a byte to each of RCX consecutive pages from RBX (RCX > 0), says done, halts. */
  static final byte[] WRITE_RCX_PAGES =
      hex(
          "c6 03 01", //             1: mov byte [rbx], 1
          "48 81 c3 00 10 00 00", // add rbx, 0x1000
          "48 ff c9", //             dec rcx
          "75 f1", //                jnz 1b
          "e6 1f", //                out 0x1f, al   ; DONE_PORT
          "f4"); //                  hlt

  /** RAX = RCX + (RCX - 1) + ... + 1 for RCX > 0, then halt. */
  static final byte[] SUM_TO_RCX =
      hex(
          "31 c0", //    xor eax, eax
          "48 01 c8", // 1: add rax, rcx
          "48 ff c9", // dec rcx
          "75 f8", //    jnz 1b
          "f4"); //      hlt

  /** Loads [RBX] into RAX, halts: at CPL 3 on a supervisor or unmapped page, a #PF. */
  static final byte[] LOAD_FROM_RBX =
      hex(
          "48 8b 03", // mov rax, [rbx]
          "f4"); //      hlt

  /** Stores EAX at [RBX], halts: at CPL 3 on a read-only page, a #PF. */
  static final byte[] STORE_TO_RBX =
      hex(
          "89 03", // mov [rbx], eax
          "f4"); //   hlt

  /** {@code hlt}: at CPL 3 a privileged instruction, #GP(0). */
  static final byte[] HLT = hex("f4"); // hlt

  /** {@code cli}: at CPL 3 with IOPL 0, #GP(0). */
  static final byte[] CLI = hex("fa"); // cli

  /** {@code mov cr3, rax}: at CPL 3 a privileged instruction, #GP(0). */
  static final byte[] MOV_TO_CR3 = hex("0f 22 d8"); // mov cr3, rax

  /** Joins hex strings ("48 01 d8") into bytes; one string per instruction, for the listing. */
  static byte[] hex(String... instructions) {
    return HexFormat.ofDelimiter(" ").parseHex(String.join(" ", instructions));
  }

  private static void putInt(byte[] bytes, int at, int value) {
    for (int i = 0; i < 4; i++) {
      bytes[at + i] = (byte) (value >>> (8 * i));
    }
  }
}
