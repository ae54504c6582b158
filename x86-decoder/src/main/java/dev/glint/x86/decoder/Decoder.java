package dev.glint.x86.decoder;

/**
 * Decodes x86 instructions listed in {@link InstructionTable}.
 *
 * <p>Stateless and thread-safe. Decoding never reads outside {@code bytes[offset, offset + count)}
 * and never throws an unchecked exception for any byte content.
 *
 * {@snippet :
 * byte[] code = {0x48, (byte) 0x89, 0x0b}; // mov [rbx], rcx
 * Instruction insn = Decoder.decode(code, 0, code.length, CpuMode.LONG_64);
 * assert insn.mnemonic() == Mnemonic.MOV && insn.length() == 3;
 * }
 */
public final class Decoder {

  /** The architectural limit on an instruction's length in bytes. */
  public static final int MAX_LENGTH = DecoderEngine.MAX_LENGTH;

  private Decoder() {}

  /**
   * Decodes the instruction at {@code bytes[offset, offset + count)} in {@code mode}.
   *
   * @param bytes the code
   * @param offset where the instruction starts
   * @param count how many bytes are available from {@code offset} (more than 15 are not read)
   * @param mode the processor mode
   * @return the instruction
   * @throws DecodeException if the bytes end before the instruction does, if it would be longer
   *     than 15 bytes, or if it is invalid or not in {@link InstructionTable}
   * @throws IndexOutOfBoundsException if the range lies outside {@code bytes}
   */
  public static Instruction decode(byte[] bytes, int offset, int count, CpuMode mode)
      throws DecodeException {
    return DecoderEngine.decode(bytes, offset, count, mode);
  }
}
