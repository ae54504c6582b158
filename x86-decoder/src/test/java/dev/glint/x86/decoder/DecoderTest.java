package dev.glint.x86.decoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.x86.decoder.Operand.Immediate;
import dev.glint.x86.decoder.Operand.Memory;
import dev.glint.x86.decoder.Operand.Register;
import dev.glint.x86.decoder.Operand.RegisterFile;
import dev.glint.x86.decoder.Operand.Relative;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Operands, sizes and prefixes of hand-picked encodings, and random bytes. */
class DecoderTest {

  private static Instruction decode(CpuMode mode, String hex) throws DecodeException {
    byte[] code = HexFormat.ofDelimiter(" ").parseHex(hex);
    Instruction insn = Decoder.decode(code, 0, code.length, mode);
    assertEquals(code.length, insn.length(), hex);
    return insn;
  }

  private static Instruction long64(String hex) throws DecodeException {
    return decode(CpuMode.LONG_64, hex);
  }

  private static Register gpr(int index, int size) {
    return new Register(RegisterFile.GPR, index, size);
  }

  @Test
  void sibWithScaleIndexAndDisplacement() throws DecodeException {
    // add byte [rbx+rcx*4+0x10], dl
    Instruction insn = long64("00 54 8b 10");
    assertEquals(new Memory(3, 3, 1, 4, 0x10, false, 8, 1), insn.operand(0));
    assertEquals(gpr(2, 1), insn.operand(1));
    assertEquals(1, insn.operandSize());
  }

  @Test
  void ripRelativeWithImmediateAfterTheDisplacement() throws DecodeException {
    // add qword [rip+0x100], 7
    Instruction insn = long64("48 83 05 00 01 00 00 07");
    assertEquals(new Memory(3, -1, -1, 1, 0x100, true, 8, 8), insn.operand(0));
    assertEquals(new Immediate(7, 8), insn.operand(1));
    assertTrue(insn.has(Instruction.PREFIX_REX_W));
  }

  @Test
  void rexExtendsBaseIndexAndRegister() throws DecodeException {
    // mov r12, [r12+r13*2+0x7fffffff]
    Instruction insn = long64("4f 8b a4 6c ff ff ff 7f");
    assertEquals(gpr(12, 8), insn.operand(0));
    assertEquals(new Memory(3, 12, 13, 2, 0x7fffffff, false, 8, 8), insn.operand(1));
  }

  @Test
  void rbpAndRspBasesUseTheStackSegmentButR13DoesNot() throws DecodeException {
    assertEquals(2, ((Memory) long64("8b 45 00").operand(1)).segment()); // mov eax, [rbp]
    assertEquals(2, ((Memory) long64("48 8b 04 24").operand(1)).segment()); // mov rax, [rsp]
    assertEquals(3, ((Memory) long64("4d 03 6d 00").operand(1)).segment()); // add r13, [r13]
  }

  @Test
  void segmentOverrideAndAbsoluteSib() throws DecodeException {
    // mov eax, fs:[0x28]
    Instruction insn = long64("64 8b 04 25 28 00 00 00");
    assertEquals(new Memory(4, -1, -1, 1, 0x28, false, 8, 4), insn.operand(1));
    assertTrue(insn.has(Instruction.PREFIX_SEGMENT));
  }

  @Test
  void highByteRegistersOnlyWithoutRex() throws DecodeException {
    // xor ah, bh
    Instruction insn = long64("30 fc");
    assertEquals(new Register(RegisterFile.GPR_HIGH_BYTE, 0, 1), insn.operand(0));
    assertEquals(new Register(RegisterFile.GPR_HIGH_BYTE, 3, 1), insn.operand(1));
    // xor sil, dil
    insn = long64("40 30 fe");
    assertEquals(gpr(6, 1), insn.operand(0));
    assertEquals(gpr(7, 1), insn.operand(1));
  }

  @Test
  void immediatesSignExtendToTheOperandSize() throws DecodeException {
    assertEquals(new Immediate(-3, 8), long64("48 83 c0 fd").operand(1)); // add rax, -3
    assertEquals(new Immediate(-1, 8), long64("48 c7 04 24 ff ff ff ff").operand(1));
    assertEquals(
        new Immediate(0x1122334455667788L, 8),
        long64("48 b8 88 77 66 55 44 33 22 11").operand(1)); // movabs rax, imm64
    assertEquals(new Immediate(0x1234, 2), long64("66 81 4d fe 34 12").operand(1));
  }

  @Test
  void moffsTakesTheAddressSize() throws DecodeException {
    Instruction insn = long64("48 a3 88 77 66 55 44 33 22 11");
    assertEquals(new Memory(3, -1, -1, 1, 0x1122334455667788L, false, 8, 8), insn.operand(0));
    assertEquals(gpr(0, 8), insn.operand(1));
  }

  @Test
  void branchesAre64BitInLongModeAndRelative() throws DecodeException {
    Instruction jcc = long64("0f 85 fb ff ff ff"); // jne .-5+6
    assertEquals(Mnemonic.JCC, jcc.mnemonic());
    assertEquals(5, jcc.condition());
    assertEquals(new Relative(-5, 8), jcc.operand(0));
    assertEquals(8, long64("75 fb").operandSize()); // jnz rel8 is not a byte operation
    assertEquals(2, decode(CpuMode.REAL_16, "eb fe").operandSize());
    assertEquals(8, long64("ff e0").operandSize()); // jmp rax
    assertEquals(8, long64("55").operandSize()); // push rbp
    assertEquals(2, long64("66 55").operandSize()); // push bp
  }

  @Test
  void realModeDefaultsTo16BitsAnd16BitAddressing() throws DecodeException {
    Instruction insn = decode(CpuMode.REAL_16, "8b 43 04"); // mov ax, [bp+di+4]
    assertEquals(gpr(0, 2), insn.operand(0));
    assertEquals(new Memory(2, 5, 7, 1, 4, false, 2, 2), insn.operand(1));
    insn = decode(CpuMode.REAL_16, "66 b8 78 56 34 12"); // mov eax, 0x12345678
    assertEquals(new Immediate(0x12345678, 4), insn.operand(1));
    insn = decode(CpuMode.REAL_16, "ea 00 10 08 00"); // jmp 0x8:0x1000
    assertEquals(new Operand.FarPointer(8, 0x1000, 2), insn.operand(0));
  }

  @Test
  void mandatoryPrefixesSelectTheSseForm() throws DecodeException {
    assertEquals(Mnemonic.MOVUPS, long64("0f 10 00").mnemonic());
    assertEquals(Mnemonic.MOVUPD, long64("66 0f 10 00").mnemonic());
    assertEquals(Mnemonic.MOVSS, long64("f3 0f 10 00").mnemonic());
    assertEquals(Mnemonic.MOVSD, long64("f2 0f 10 00").mnemonic());
    Instruction movq = long64("66 48 0f 7e c0"); // movq rax, xmm0
    assertEquals(Mnemonic.MOVD, movq.mnemonic());
    assertEquals(gpr(0, 8), movq.operand(0));
    assertEquals(new Register(RegisterFile.XMM, 0, 16), movq.operand(1));
    // F3 as a mandatory prefix is not also a REP prefix.
    assertTrue(!long64("f3 0f b8 c1").has(Instruction.PREFIX_REP));
    assertTrue(long64("f3 48 ab").has(Instruction.PREFIX_REP)); // rep stosq
  }

  @Test
  void nopWithRexBIsAnExchange() throws DecodeException {
    assertEquals(Mnemonic.NOP, long64("90").mnemonic());
    assertEquals(Mnemonic.PAUSE, long64("f3 90").mnemonic());
    Instruction xchg = long64("49 90");
    assertEquals(Mnemonic.XCHG, xchg.mnemonic());
    assertEquals(gpr(8, 8), xchg.operand(0));
  }

  @Test
  void stringOperandsNameRsiAndRdi() throws DecodeException {
    Instruction movs = decode(CpuMode.LONG_64, "f3 48 a5"); // rep movsq
    assertEquals(new Memory(0, 7, -1, 1, 0, false, 8, 8), movs.operand(0));
    assertEquals(new Memory(3, 6, -1, 1, 0, false, 8, 8), movs.operand(1));
    Instruction outs = decode(CpuMode.LONG_64, "64 6e"); // outsb dx, fs:[rsi]
    assertEquals(new Memory(4, 6, -1, 1, 0, false, 8, 1), outs.operand(1));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "0f ff", // ud0: not in the table
        "d8 c0", // x87: not implemented
        "c5 f8 77", // VEX: not implemented
        "f0 01 c0", // lock on a register destination
        "f0 90", // lock on nop
        "8e c8", // mov cs, ax
        "0f 20 c8", // mov rax, cr1
        "8d c0", // lea with a register
        "06", // push es: invalid in long mode
        "0f 01 c0", // sgdt with a register
      })
  void invalidEncodingsAreReported(String hex) {
    byte[] code = HexFormat.ofDelimiter(" ").parseHex(hex + " 00 00 00 00 00 00");
    DecodeException e =
        assertThrows(
            DecodeException.class, () -> Decoder.decode(code, 0, code.length, CpuMode.LONG_64));
    assertEquals(DecodeException.Reason.INVALID, e.reason(), hex);
    assertTrue(e.getMessage().contains(hex.substring(0, 2)), e.getMessage());
  }

  @Test
  void fifteenBytesIsTheLimit() throws DecodeException {
    // 14 prefixes and a one-byte opcode are fine; 15 prefixes are too long.
    byte[] fourteen = HexFormat.of().parseHex("6666666666666666666666666666" + "90");
    assertEquals(15, Decoder.decode(fourteen, 0, fourteen.length, CpuMode.LONG_64).length());
    byte[] fifteen = HexFormat.of().parseHex("666666666666666666666666666666" + "90");
    DecodeException e =
        assertThrows(
            DecodeException.class,
            () -> Decoder.decode(fifteen, 0, fifteen.length, CpuMode.LONG_64));
    assertEquals(DecodeException.Reason.TOO_LONG, e.reason());
  }

  @Test
  void aRexBeforeALegacyPrefixIsIgnored() throws DecodeException {
    // 48 66 89 c8: the REX.W does not count, 66 applies: mov ax, cx
    Instruction insn = long64("48 66 89 c8");
    assertEquals(gpr(0, 2), insn.operand(0));
  }

  /** Random bytes never make the decoder throw anything but DecodeException, in any mode. */
  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 0x5eed})
  void randomBytesDecodeOrFailCleanly(long seed) {
    Random random = new Random(seed);
    byte[] code = new byte[32];
    int decoded = 0;
    for (int i = 0; i < 20_000; i++) {
      random.nextBytes(code);
      int count = random.nextInt(code.length + 1);
      CpuMode mode = CpuMode.values()[random.nextInt(3)];
      try {
        Instruction insn = Decoder.decode(code, 0, count, mode);
        assertTrue(insn.length() <= Math.min(count, 15));
        decoded++;
      } catch (DecodeException e) {
        assertTrue(e.getMessage() != null && e.reason() != null);
      }
    }
    assertTrue(decoded > 1000, "only " + decoded + " of 20000 random byte strings decoded");
  }
}
