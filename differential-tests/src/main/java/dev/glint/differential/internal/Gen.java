package dev.glint.differential.internal;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The state of one sequence being generated: the code so far, the registers reserved as memory
 * pointers, and which status flags are undefined at this point (so that no later instruction's
 * result depends on them). Templates draw operands from it. Not thread-safe.
 *
 * <p>Memory operands point into the user data pages through a reserved base register (and a
 * reserved index register holding a small value), RIP-relative, through RSP into the stack page, or
 * as an absolute disp32 plus the index. The reserved registers, and RSP, are never a destination.
 */
public final class Gen {
  /** The random source; every choice is drawn from it, so a seed reproduces the case. */
  public final SplittableRandom random;

  private final long codeAddress;
  private final ByteArrayOutputStream code = new ByteArrayOutputStream();
  private final List<String> mnemonics = new ArrayList<>();

  /** The register holding a pointer into the data pages. */
  public final int base;

  /** The register holding a small index (0..63). */
  public final int index;

  /** The value of {@link #base}. */
  public final long baseValue;

  /** The value of {@link #index}. */
  public final long indexValue;

  /** Whether SSE instructions may be generated (both backends give the XMM state). */
  public final boolean sse;

  private int undefined;
  private boolean legacy;

  private static final int[] POINTER_REGISTERS = {3, 5, 8, 9, 10, 11, 12, 13, 14, 15};

  /**
   * Starts a sequence at {@code codeAddress}, choosing the reserved pointer registers.
   *
   * @param random the random source
   * @param codeAddress where the code will run
   * @param sse whether SSE templates may emit
   */
  public Gen(SplittableRandom random, long codeAddress, boolean sse) {
    this.random = random;
    this.codeAddress = codeAddress;
    this.sse = sse;
    this.base = POINTER_REGISTERS[random.nextInt(POINTER_REGISTERS.length)];
    int i;
    do {
      i = POINTER_REGISTERS[random.nextInt(POINTER_REGISTERS.length)];
    } while (i == base);
    this.index = i;
    this.baseValue = GuestLayout.DATA + 0x1000 + 64L * (random.nextInt(33) - 16);
    this.indexValue = random.nextInt(64);
  }

  /** {@return the address of the next instruction} */
  public long pc() {
    return codeAddress + code.size();
  }

  /** {@return the code generated so far} */
  public byte[] code() {
    return code.toByteArray();
  }

  /** {@return the mnemonics emitted so far, in order} */
  public List<String> mnemonics() {
    return mnemonics;
  }

  /** {@return the flags undefined at this point} */
  public int undefinedFlags() {
    return undefined;
  }

  /** Sets the undefined flags, as after a conditional jump's two paths meet. */
  public void setUndefinedFlags(int flags) {
    undefined = flags;
  }

  /** Appends an instruction. */
  public void emit(String mnemonic, Insn insn) {
    code.writeBytes(insn.encode(pc()));
    mnemonics.add(mnemonic);
  }

  /** {@return a mark to {@link #truncate} back to} */
  public int mark() {
    return code.size() << 8 | mnemonics.size();
  }

  /** Drops everything emitted since {@code mark}. */
  public void truncate(int mark) {
    byte[] kept = java.util.Arrays.copyOf(code.toByteArray(), mark >>> 8);
    code.reset();
    code.writeBytes(kept);
    while (mnemonics.size() > (mark & 0xFF)) {
      mnemonics.removeLast();
    }
  }

  /** {@return the number of code bytes emitted so far} */
  public int length() {
    return code.size();
  }

  /** Overwrites {@code count} code bytes at {@code offset} with the low bytes of {@code value}. */
  public void patch(int offset, long value, int count) {
    byte[] bytes = code.toByteArray();
    for (int i = 0; i < count; i++) {
      bytes[offset + i] = (byte) (value >>> (8 * i));
    }
    code.reset();
    code.writeBytes(bytes);
  }

  /** Emits one more unit chosen by the generator (for a conditional jump over it). */
  public void unit() {
    unitEmitter.run();
  }

  private Runnable unitEmitter = () -> {};

  /** Sets what {@link #unit()} calls: the generator's choice of one more unit. */
  public void setUnitEmitter(Runnable emitter) {
    this.unitEmitter = emitter;
  }

  /** Appends raw bytes (never executed: jumped over). */
  public void raw(byte[] bytes) {
    code.writeBytes(bytes);
  }

  /**
   * Records an instruction's effect on the status flags: {@code defined} get defined values, {@code
   * undefinedNow} are left undefined; the others keep their state.
   */
  public void flags(int defined, int undefinedNow) {
    undefined = (undefined & ~defined) | undefinedNow;
  }

  /** {@return whether every flag in {@code mask} is defined now} */
  public boolean defined(int mask) {
    return (undefined & mask) == 0;
  }

  /** {@return a condition code whose flags are all defined, or -1 if none is} */
  public int condition() {
    int start = random.nextInt(16);
    for (int i = 0; i < 16; i++) {
      int cc = (start + i) & 15;
      if (defined(Flags.readBy(cc))) {
        return cc;
      }
    }
    return -1;
  }

  /**
   * Starts an instruction whose operands are {@code size} bytes: decides whether its byte registers
   * may be AH..BH (then no operand may need REX).
   */
  public void begin(int size) {
    legacy = size == 1 && random.nextInt(3) == 0;
  }

  /** Starts an instruction that must be encodable with REX (a 64-bit or extended operand). */
  public void beginRex() {
    legacy = false;
  }

  /** {@return whether {@code code} may be written: not RSP, not a reserved pointer} */
  public boolean writable(int code) {
    return code != Registers64.RSP && code != base && code != index;
  }

  /** {@return a register of {@code size} bytes the instruction may write} */
  public Operand.Reg destination(int size) {
    while (true) {
      Operand.Reg r = anyRegister(size);
      if (writable(r.code())) {
        return r;
      }
    }
  }

  /** {@return a register of {@code size} bytes the instruction may read (any register)} */
  public Operand.Reg source(int size) {
    return anyRegister(size);
  }

  private Operand.Reg anyRegister(int size) {
    if (legacy) {
      int code = random.nextInt(8);
      return code < 4 || size != 1
          ? Operand.Reg.of(code, size)
          : new Operand.Reg(code - 4, 1, true);
    }
    return Operand.Reg.of(random.nextInt(16), size);
  }

  /** {@return a memory operand in the data or stack pages for an access of {@code size} bytes} */
  public Operand.Mem memory(int size) {
    return memory(size, false);
  }

  /**
   * {@return a memory operand for an access of {@code size} bytes; if {@code aligned}, usually
   * 16-byte aligned (sometimes not, to meet the alignment fault)}
   */
  public Operand.Mem memory(int size, boolean aligned) {
    if (aligned && random.nextInt(16) != 0) {
      long disp = 16L * (random.nextInt(64) - 32);
      if (random.nextBoolean() && !(legacy && base >= 8)) {
        return Operand.Mem.baseDisp(base, disp);
      }
      return Operand.Mem.rip(baseValue + disp);
    }
    while (true) {
      Operand.Mem m =
          switch (random.nextInt(6)) {
            case 0 -> Operand.Mem.baseDisp(base, displacement());
            case 1 ->
                new Operand.Mem(base, index, 1 << random.nextInt(4), displacement(), 0, false);
            case 2 ->
                Operand.Mem.rip(
                    GuestLayout.DATA + random.nextLong(GuestLayout.DATA_SIZE - size + 1));
            case 3 -> Operand.Mem.baseDisp(Registers64.RSP, random.nextInt(-0x80, 0x80 - size));
            case 4 -> {
              int scale = 1 << random.nextInt(4);
              long target = GuestLayout.DATA + random.nextLong(GuestLayout.DATA_SIZE - 0x400);
              yield new Operand.Mem(-1, index, scale, target - indexValue * scale, 0, false);
            }
            default -> Operand.Mem.baseDisp(base, random.nextInt(-128, 128));
          };
      if (!legacy || !m.needsRex()) {
        return m;
      }
    }
  }

  private long displacement() {
    return random.nextBoolean() ? random.nextInt(-128, 128) : random.nextInt(-0x200, 0x200);
  }

  /**
   * {@return a memory operand naming any address, for {@code lea}: random base, index, scale and
   * displacement over all registers}
   */
  public Operand.Mem anyAddress() {
    int b = random.nextInt(17) - 1;
    int i;
    do {
      i = random.nextInt(17) - 1;
    } while (i == 4);
    long disp =
        switch (random.nextInt(3)) {
          case 0 -> 0;
          case 1 -> random.nextInt(-128, 128);
          default -> random.nextInt();
        };
    if (random.nextInt(8) == 0) {
      return Operand.Mem.rip(pc() + random.nextInt(-0x10000, 0x10000));
    }
    if (b < 0 && i < 0) {
      b = random.nextInt(16);
    }
    return new Operand.Mem(b, i, 1 << random.nextInt(4), disp, 0, false);
  }

  /** {@return an operand of {@code size} bytes: a register the instruction may write, or memory} */
  public Operand writableOperand(int size) {
    return random.nextInt(3) == 0 ? memory(size) : destination(size);
  }

  /** {@return an operand of {@code size} bytes to read: any register, or memory} */
  public Operand readableOperand(int size) {
    return random.nextInt(3) == 0 ? memory(size) : source(size);
  }

  /** {@return a random operand size: 1, 2, 4 or 8 bytes} */
  public int size() {
    return 1 << random.nextInt(4);
  }

  /** {@return a random operand size of 2, 4 or 8 bytes} */
  public int wideSize() {
    return 2 << random.nextInt(3);
  }

  /** {@return a biased immediate of {@code bytes} bytes, sign-extended} */
  public long imm(int bytes) {
    return Values.immediate(random, bytes);
  }

  /** {@return a random XMM register number, 0..15} */
  public int xmm() {
    return random.nextInt(16);
  }
}
