package dev.glint.x86.decoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Fuzzes the x86 decoder with guest bytes (docs/reliability.md): the emulated backend decodes
 * whatever a hostile guest puts at RIP, and a backend completing an MMIO exit decodes the
 * instruction that caused it. Contract, in every mode: {@link Decoder#decode} returns an
 * instruction of 1..min(15, count) bytes or throws {@link DecodeException}, never another
 * exception; it reads nothing outside its range (the same bytes at an offset inside a larger array
 * with different bytes around them decode to the same result, down to the reason of a failure); an
 * instruction decodes the same from its own bytes alone, and a truncated one says so. The same
 * holds for {@link MmioInstruction#decode} with {@link UnsupportedMmioInstructionException}.
 *
 * <p>Input: byte 0 picks the mode, the rest is the code (up to 20 bytes are used). Corpus: {@code
 * src/test/resources/dev/glint/x86/decoder/DecoderFuzzTestInputs/decode}; {@code bin/glint-fuzz
 * decoder} fuzzes for real.
 */
class DecoderFuzzTest {

  @FuzzTest(maxDuration = "30s")
  void decode(byte[] data) {
    if (data.length < 1) {
      return;
    }
    CpuMode mode = CpuMode.values()[Byte.toUnsignedInt(data[0]) % CpuMode.values().length];
    byte[] code = Arrays.copyOfRange(data, 1, Math.min(data.length, 21));
    Object alone = decode(code, 0, code.length, mode);
    // The same bytes inside a larger array, surrounded by other bytes: the decoder must not look.
    byte[] padded = new byte[code.length + 32];
    Arrays.fill(padded, (byte) 0x66);
    System.arraycopy(code, 0, padded, 16, code.length);
    assertEquals(alone, decode(padded, 16, code.length, mode), "the result depends on other bytes");
    if (alone instanceof Instruction insn) {
      assertTrue(insn.length() >= 1 && insn.length() <= Math.min(15, code.length), "length");
      assertEquals(insn.mode(), mode);
      // Its own bytes alone are the same instruction; one byte fewer is truncated or another
      // (shorter) instruction, never a longer one.
      assertEquals(
          insn, decode(code, 0, insn.length(), mode), "instruction depends on bytes after it");
      Object shorter = decode(code, 0, insn.length() - 1, mode);
      if (shorter instanceof Instruction s) {
        assertTrue(s.length() < insn.length(), "a prefix decoded longer than the whole");
      }
    } else if (alone.equals(DecodeException.Reason.TRUNCATED)) {
      assertTrue(code.length < 15, "truncated although 15 bytes were there");
    }
    Object mmioAlone = mmio(code, 0, code.length, mode);
    assertEquals(
        mmioAlone, mmio(padded, 16, code.length, mode), "MMIO result depends on other bytes");
    if (mmioAlone instanceof MmioInstruction m) {
      assertTrue(alone instanceof Instruction i && i.length() == m.length(), "MMIO length");
      assertTrue(m.size() == 1 || m.size() == 2 || m.size() == 4 || m.size() == 8, "size");
    }
  }

  /** {@return the instruction, or the reason decoding failed} */
  private static Object decode(byte[] bytes, int offset, int count, CpuMode mode) {
    try {
      return Decoder.decode(bytes, offset, count, mode);
    } catch (DecodeException e) {
      return e.reason();
    }
  }

  /** {@return the MMIO instruction, or "unsupported"} */
  private static Object mmio(byte[] bytes, int offset, int count, CpuMode mode) {
    try {
      return MmioInstruction.decode(bytes, offset, count, mode);
    } catch (UnsupportedMmioInstructionException e) {
      return "unsupported";
    }
  }

  /**
   * Writes the seed corpus: a few instructions per mode (moves with ModRM/SIB/RIP-relative
   * operands, prefixes, a jump, an immediate store, a 15-byte instruction), which the fuzzer then
   * mutates.
   *
   * @param args the corpus directory
   */
  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args[0]);
    Files.createDirectories(dir);
    int[][] code = {
      {0x48, 0x89, 0x0b}, // mov [rbx], rcx
      {0x8b, 0x44, 0x8e, 0x10}, // mov eax, [rsi+rcx*4+0x10]
      {0x48, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00}, // mov rax, [rip+0x10]
      {0xc7, 0x80, 0x00, 0x10, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12}, // mov dword [rax+0x1000], imm
      {0x0f, 0xb6, 0x07}, // movzx eax, byte [rdi]
      {0x48, 0x63, 0x06}, // movsxd rax, dword [rsi]
      {0x88, 0x27}, // mov [rdi], ah
      {0x66, 0x89, 0x07}, // mov [rdi], ax
      {0xf3, 0xa4}, // rep movsb
      {0x0f, 0x84, 0x00, 0x01, 0x00, 0x00}, // je +0x100
      {0xe6, 0x80}, // out 0x80, al
      {0xee}, // out dx, al
      {0xf4}, // hlt
      {0x0f, 0x30}, // wrmsr
      {0x0f, 0x01, 0x15, 0, 0, 0, 0}, // lgdt [rip+0]
      {0x26, 0x66, 0x67, 0xf0, 0x48, 0x81, 0x84, 0x88, 0, 0, 0, 0, 1, 0, 0, 0}, // 15+ bytes
    };
    for (int m = 0; m < CpuMode.values().length; m++) {
      for (int i = 0; i < code.length; i++) {
        byte[] seed = new byte[code[i].length + 1];
        seed[0] = (byte) m;
        for (int k = 0; k < code[i].length; k++) {
          seed[k + 1] = (byte) code[i][k];
        }
        Files.write(dir.resolve(CpuMode.values()[m].name().toLowerCase() + "-" + i), seed);
      }
    }
  }
}
