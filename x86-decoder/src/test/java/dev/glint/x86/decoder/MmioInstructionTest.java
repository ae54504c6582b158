package dev.glint.x86.decoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import java.util.function.IntToLongFunction;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The MMIO view: sizes, stored values and register merges, from bytes GNU as produced. */
class MmioInstructionTest {

  /** Register i holds 0x1111111111111100 + i*0x0101 (so every byte differs per register). */
  private static final IntToLongFunction REGS = i -> 0x8877665544332200L + i * 0x0101L;

  private static MmioInstruction decode(String hex, CpuMode mode)
      throws UnsupportedMmioInstructionException {
    byte[] code = HexFormat.ofDelimiter(" ").parseHex(hex + " 90 90");
    return MmioInstruction.decode(code, 0, code.length, mode);
  }

  @ParameterizedTest(name = "{0} ({1})")
  @CsvSource(
      delimiter = '|',
      value = {
        // bytes                  | assembly                    | len | size | value
        "48 89 0b                 | mov [rbx], rcx              | 3 | 8 | 0x8877665544332301",
        "89 03                    | mov [rbx], eax              | 2 | 4 | 0x44332200",
        "66 89 53 30              | mov [rbx+0x30], dx          | 4 | 2 | 0x2402",
        "88 63 01                 | mov [rbx+1], ah             | 3 | 1 | 0x22",
        "40 88 73 01              | mov [rbx+1], sil            | 4 | 1 | 0x06",
        "44 88 03                 | mov [rbx], r8b              | 3 | 1 | 0x08",
        "c7 43 10 ef be ad de     | mov dword [rbx+0x10], 0xdeadbeef | 7 | 4 | 0xdeadbeef",
        "48 c7 03 ff ff ff ff     | mov qword [rbx], -1         | 7 | 8 | -1",
        "c6 43 01 5a              | mov byte [rbx+1], 0x5a      | 4 | 1 | 0x5a",
        "66 c7 03 34 12           | mov word [rbx], 0x1234      | 5 | 2 | 0x1234",
        "48 a3 00 10 00 00 00 00 00 00 | movabs [0x1000], rax   | 10 | 8 | 0x8877665544332200",
        "89 84 8b 00 10 00 00     | mov [rbx+rcx*4+0x1000], eax | 7 | 4 | 0x44332200",
        "89 05 00 01 00 00        | mov [rip+0x100], eax        | 6 | 4 | 0x44332200",
      })
  void writes(String hex, String assembly, int length, int size, String value) throws Exception {
    MmioInstruction insn = decode(hex.strip(), CpuMode.LONG_64);
    assertTrue(insn.write(), assembly);
    assertEquals(length, insn.length(), assembly);
    assertEquals(size, insn.size(), assembly);
    assertEquals(parse(value), insn.valueToWrite(REGS), assembly);
    assertThrows(IllegalStateException.class, insn::destinationRegister);
  }

  @ParameterizedTest(name = "{0} ({1})")
  @CsvSource(
      delimiter = '|',
      value = {
        // bytes      | assembly                 | len | size | dest | old               | data
        //  | new
        "8b 43 20     | mov eax, [rbx+0x20]      | 3 | 4 | 0  | -1                 | 0xcafef00d8badf00d | 0x8badf00d",
        "48 8b 73 28  | mov rsi, [rbx+0x28]      | 4 | 8 | 6  | 0                  | 0x0123456789abcdef | 0x0123456789abcdef",
        "66 8b 53 30  | mov dx, [rbx+0x30]       | 4 | 2 | 2  | 0x1111111111111111 | 0xabcd             | 0x111111111111abcd",
        "8a 23        | mov ah, [rbx]            | 2 | 1 | 0  | 0x1111111111111111 | 0xfe               | 0x111111111111fe11",
        "44 8a 03     | mov r8b, [rbx]           | 3 | 1 | 8  | 0x1111111111111111 | 0xfe               | 0x11111111111111fe",
        "0f b6 03     | movzx eax, byte [rbx]    | 3 | 1 | 0  | -1                 | 0x80               | 0x80",
        "66 0f b6 03  | movzx ax, byte [rbx]     | 4 | 1 | 0  | -1                 | 0x80               | 0xffffffffffff0080",
        "48 0f be 03  | movsx rax, byte [rbx]    | 4 | 1 | 0  | 0                  | 0x80               | 0xffffffffffffff80",
        "0f bf 03     | movsx eax, word [rbx]    | 3 | 2 | 0  | -1                 | 0x8000             | 0xffff8000",
        "48 63 03     | movsxd rax, dword [rbx]  | 3 | 4 | 0  | 0                  | 0x80000000         | 0xffffffff80000000",
        "a0 00 10 00 00 00 00 00 00 | movabs al, [0x1000] | 9 | 1 | 0 | 0x1111111111111111 | 0x42     | 0x1111111111111142",
      })
  void reads(
      String hex,
      String assembly,
      int length,
      int size,
      int destination,
      String oldValue,
      String data,
      String expected)
      throws Exception {
    MmioInstruction insn = decode(hex.strip(), CpuMode.LONG_64);
    assertFalse(insn.write(), assembly);
    assertEquals(length, insn.length(), assembly);
    assertEquals(size, insn.size(), assembly);
    assertEquals(destination, insn.destinationRegister(), assembly);
    assertEquals(
        Long.toHexString(parse(expected)),
        Long.toHexString(insn.registerAfterRead(parse(oldValue), parse(data))),
        assembly);
    assertThrows(IllegalStateException.class, () -> insn.valueToWrite(REGS));
  }

  private static long parse(String text) {
    String t = text.strip();
    return t.startsWith("0x") ? Long.parseUnsignedLong(t.substring(2), 16) : Long.parseLong(t);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "8b 03          | REAL_16      | 2 | 2", // mov ax, [bp+di]
        "66 8b 03       | REAL_16      | 3 | 4", // mov eax, [bp+di]
        "8b 03          | PROTECTED_32 | 2 | 4", // mov eax, [ebx]
        "66 89 03       | PROTECTED_32 | 3 | 2", // mov [ebx], ax
      })
  void otherModes(String hex, CpuMode mode, int length, int size) throws Exception {
    MmioInstruction insn = decode(hex.strip(), mode);
    assertEquals(length, insn.length());
    assertEquals(size, insn.size());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "01 03", // add [rbx], eax: not a plain move
        "48 89 c8", // mov rax, rcx: no memory operand
        "f3 a4", // rep movsb
        "0f 0b", // ud2
        "48 8b", // truncated
        "d8 03", // x87: invalid
        "f3 0f 7f 03", // movdqu [rbx], xmm0: not a general register
      })
  void unsupportedInstructionsNameTheirBytes(String hex) {
    byte[] code = HexFormat.ofDelimiter(" ").parseHex(hex);
    UnsupportedMmioInstructionException e =
        assertThrows(
            UnsupportedMmioInstructionException.class,
            () -> MmioInstruction.decode(code, 0, code.length, CpuMode.LONG_64));
    assertTrue(e.getMessage().contains(hex.substring(0, 5)), e.getMessage());
  }
}
