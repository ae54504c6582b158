package dev.glint.x86.decoder;

import dev.glint.x86.decoder.Operand.RegisterFile;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Decodes one instruction: prefixes, REX, opcode, ModRM/SIB, displacement and immediates. One
 * instance per call (it holds the cursor), so decoding is thread-safe.
 */
final class DecoderEngine {

  /** The architectural limit on instruction length. */
  public static final int MAX_LENGTH = 15;

  private static final int SEG_ES = 0;
  private static final int SEG_SS = 2;
  private static final int SEG_DS = 3;

  private final byte[] bytes;
  private final int start;
  private final int count;
  private final CpuMode mode;
  private final boolean longMode;
  private int pos;

  // Prefix state.
  private int rex;
  private int lastRep;
  private boolean has66;
  private boolean has67;
  private boolean lock;
  private int segmentOverride = -1;

  // ModRM state.
  private int modrm = -1;

  private DecoderEngine(byte[] bytes, int offset, int count, CpuMode mode) {
    this.bytes = bytes;
    this.start = offset;
    this.count = count;
    this.mode = mode;
    this.longMode = mode == CpuMode.LONG_64;
  }

  /**
   * Decodes the instruction at {@code bytes[offset, offset + count)}.
   *
   * @throws DecodeException if the bytes are truncated, too long, invalid or not in the table
   */
  public static Instruction decode(byte[] bytes, int offset, int count, CpuMode mode)
      throws DecodeException {
    if (offset < 0 || count < 0 || offset > bytes.length - count) {
      throw new IndexOutOfBoundsException(
          "range [" + offset + ", " + offset + "+" + count + ") of " + bytes.length + " bytes");
    }
    return new DecoderEngine(bytes, offset, count, mode).run();
  }

  private int next() throws DecodeException {
    if (pos >= MAX_LENGTH) {
      throw fail(DecodeException.Reason.TOO_LONG, "longer than 15 bytes");
    }
    if (pos >= count) {
      throw fail(DecodeException.Reason.TRUNCATED, "truncated");
    }
    return bytes[start + pos++] & 0xFF;
  }

  private long little(int size) throws DecodeException {
    long value = 0;
    for (int i = 0; i < size; i++) {
      value |= (long) next() << (8 * i);
    }
    return value;
  }

  private long signed(int size) throws DecodeException {
    long value = little(size);
    int shift = 64 - 8 * size;
    return (value << shift) >> shift;
  }

  private DecodeException fail(DecodeException.Reason reason, String what) {
    int shown = Math.min(count, MAX_LENGTH);
    return new DecodeException(
        reason,
        what
            + ": "
            + HexFormat.ofDelimiter(" ").formatHex(bytes, start, start + shown)
            + " ("
            + mode
            + ")");
  }

  private Instruction run() throws DecodeException {
    int b = prefixes();
    int map = 0;
    if (b == 0x0F) {
      map = 1;
      b = next();
      if (b == 0x38) {
        map = 2;
        b = next();
      } else if (b == 0x3A) {
        map = 3;
        b = next();
      }
    }
    int opcode = b;
    if (OpcodeIndex.hasModRm(map, opcode)) {
      modrm = next();
    }
    Encoding enc = select(OpcodeIndex.at(map, opcode));
    if (enc == null) {
      throw fail(DecodeException.Reason.INVALID, "invalid or unimplemented instruction");
    }
    boolean rexW = (rex & 8) != 0;
    boolean sizePrefix = has66 && enc.mandatoryPrefix() != 0x66;
    int operandSize = operandSize(enc, rexW, sizePrefix);
    int addressSize = longMode ? (has67 ? 4 : 8) : (mode == CpuMode.REAL_16) == has67 ? 4 : 2;
    Operand memory = null;
    if (enc.hasModRm() && (modrm >> 6) != 3) {
      memory = memoryOperand(addressSize);
    }
    List<Operand> operands = new ArrayList<>(enc.operands().size());
    for (OperandSpec spec : enc.operands()) {
      operands.add(operand(spec, opcode, operandSize, addressSize, rexW, memory));
    }
    if (lock && !(enc.lockable() && memory != null)) {
      throw fail(DecodeException.Reason.INVALID, "LOCK prefix not allowed");
    }
    int prefixBits = 0;
    if (lastRep == 0xF3 && enc.mandatoryPrefix() != 0xF3) {
      prefixBits |= Instruction.PREFIX_REP;
    }
    if (lastRep == 0xF2 && enc.mandatoryPrefix() != 0xF2) {
      prefixBits |= Instruction.PREFIX_REPNE;
    }
    if (lock) {
      prefixBits |= Instruction.PREFIX_LOCK;
    }
    if (sizePrefix) {
      prefixBits |= Instruction.PREFIX_OPERAND_SIZE;
    }
    if (has67) {
      prefixBits |= Instruction.PREFIX_ADDRESS_SIZE;
    }
    if (rex != 0) {
      prefixBits |= Instruction.PREFIX_REX;
    }
    if (rexW) {
      prefixBits |= Instruction.PREFIX_REX_W;
    }
    if (segmentOverride >= 0) {
      prefixBits |= Instruction.PREFIX_SEGMENT;
    }
    int effectiveSize = isByteOperation(enc) ? 1 : operandSize;
    return new Instruction(
        enc.entry().mnemonic(),
        enc.entry(),
        mode,
        pos,
        opcode,
        effectiveSize,
        addressSize,
        prefixBits,
        operands);
  }

  /** Reads the prefixes; returns the first byte after them. */
  private int prefixes() throws DecodeException {
    while (true) {
      int b = next();
      switch (b) {
        case 0xF0 -> lock = true;
        case 0xF2, 0xF3 -> lastRep = b;
        case 0x66 -> has66 = true;
        case 0x67 -> has67 = true;
        case 0x26 -> segmentOverride = 0;
        case 0x2E -> segmentOverride = 1;
        case 0x36 -> segmentOverride = 2;
        case 0x3E -> segmentOverride = 3;
        case 0x64 -> segmentOverride = 4;
        case 0x65 -> segmentOverride = 5;
        default -> {
          if (longMode && (b & 0xF0) == 0x40) {
            rex = b;
            // A REX prefix counts only directly before the opcode.
            int following = peek();
            if (isLegacyPrefix(following) || (following & 0xF0) == 0x40) {
              rex = 0;
            }
            continue;
          }
          return b;
        }
      }
      // A legacy prefix after a REX cancels it (the REX prefix must come last).
      rex = 0;
    }
  }

  private int peek() {
    return pos < count && pos < MAX_LENGTH ? bytes[start + pos] & 0xFF : -1;
  }

  private static boolean isLegacyPrefix(int b) {
    return switch (b) {
      case 0xF0, 0xF2, 0xF3, 0x66, 0x67, 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65 -> true;
      default -> false;
    };
  }

  private Encoding select(Encoding[] candidates) {
    // A mandatory F2/F3 takes precedence over 66, which takes precedence over none.
    Encoding found = lastRep != 0 ? find(candidates, lastRep) : null;
    if (found == null && has66) {
      found = find(candidates, 0x66);
    }
    return found != null ? found : find(candidates, 0);
  }

  private Encoding find(Encoding[] candidates, int prefix) {
    for (Encoding e : candidates) {
      if (e.mandatoryPrefix() == prefix && matches(e)) {
        return e;
      }
    }
    return null;
  }

  private boolean matches(Encoding e) {
    if (!e.validIn(mode)) {
      return false;
    }
    if (e.notWithRexB() && (rex & 1) != 0) {
      return false;
    }
    if (!e.hasModRm()) {
      return true;
    }
    int mod = modrm >> 6;
    int reg = (modrm >> 3) & 7;
    if (e.exactModRm() >= 0 && e.exactModRm() != modrm) {
      return false;
    }
    if (e.regDigit() >= 0 && e.regDigit() != reg) {
      return false;
    }
    if (e.memoryOnly() && mod == 3) {
      return false;
    }
    return !e.registerOnly() || mod == 3;
  }

  private int operandSize(Encoding e, boolean rexW, boolean sizePrefix) {
    return switch (mode) {
      case LONG_64 -> {
        if (e.forced64() || rexW) {
          yield 8;
        }
        if (sizePrefix) {
          yield 2;
        }
        yield e.default64() ? 8 : 4;
      }
      case PROTECTED_32 -> sizePrefix ? 2 : 4;
      case REAL_16 -> sizePrefix ? 4 : 2;
    };
  }

  /** Byte operations have a byte-sized operand and none sized by the operand size. */
  private static boolean isByteOperation(Encoding e) {
    boolean anyByte = false;
    for (OperandSpec s : e.operands()) {
      switch (s.size()) {
        case V, Z, Y, NATURAL -> {
          return false;
        }
        case B ->
            anyByte =
                anyByte
                    || (s.method() != OperandSpec.Method.I && s.method() != OperandSpec.Method.J);
        default -> {}
      }
    }
    return anyByte;
  }

  private Operand memoryOperand(int addressSize) throws DecodeException {
    int mod = modrm >> 6;
    int rm = modrm & 7;
    if (addressSize == 2) {
      return memory16(mod, rm);
    }
    int base;
    int index = -1;
    int scale = 1;
    long displacement = 0;
    boolean ripRelative = false;
    if (rm == 4) {
      int sib = next();
      scale = 1 << (sib >> 6);
      int idx = ((sib >> 3) & 7) | ((rex & 2) << 2);
      index = idx == 4 ? -1 : idx;
      int sibBase = sib & 7;
      if (sibBase == 5 && mod == 0) {
        base = -1;
        displacement = signed(4);
      } else {
        base = sibBase | ((rex & 1) << 3);
      }
    } else if (rm == 5 && mod == 0) {
      base = -1;
      ripRelative = longMode;
      displacement = signed(4);
    } else {
      base = rm | ((rex & 1) << 3);
    }
    if (mod == 1) {
      displacement = signed(1);
    } else if (mod == 2) {
      displacement = signed(4);
    }
    int segment = (base == 4 || base == 5) ? SEG_SS : SEG_DS;
    return new Operand.Memory(
        override(segment), base, index, scale, displacement, ripRelative, addressSize, 0);
  }

  private Operand memory16(int mod, int rm) throws DecodeException {
    // BX+SI, BX+DI, BP+SI, BP+DI, SI, DI, BP, BX (registers: 3=BX, 5=BP, 6=SI, 7=DI).
    int[] bases = {3, 3, 5, 5, 6, 7, 5, 3};
    int[] indexes = {6, 7, 6, 7, -1, -1, -1, -1};
    int base = bases[rm];
    int index = indexes[rm];
    long displacement = 0;
    if (mod == 0 && rm == 6) {
      base = -1;
      displacement = signed(2);
    } else if (mod == 1) {
      displacement = signed(1);
    } else if (mod == 2) {
      displacement = signed(2);
    }
    int segment = base == 5 ? SEG_SS : SEG_DS;
    return new Operand.Memory(override(segment), base, index, 1, displacement, false, 2, 0);
  }

  private int override(int defaultSegment) {
    return segmentOverride >= 0 ? segmentOverride : defaultSegment;
  }

  private Operand operand(
      OperandSpec spec, int opcode, int operandSize, int addressSize, boolean rexW, Operand memory)
      throws DecodeException {
    int size = spec.size().bytes(operandSize, rexW, longMode);
    int reg = ((modrm >> 3) & 7) | ((rex & 4) << 1);
    int rm = (modrm & 7) | ((rex & 1) << 3);
    return switch (spec.method()) {
      case E -> memory != null ? sized(memory, size) : gpr(rm, size);
      case M, W -> memory != null ? sized(memory, size) : xmm(rm, size);
      case G -> gpr(reg, size);
      case R -> gpr(rm, size);
      case U -> xmm(rm, size);
      case V -> xmm(reg, size);
      case C -> control(reg, size);
      case S -> segment((modrm >> 3) & 7, opcode);
      case Z -> gpr((opcode & 7) | ((rex & 1) << 3), size);
      case FIXED_GPR -> new Operand.Register(RegisterFile.GPR, spec.fixedIndex(), size);
      case FIXED_SEGMENT -> new Operand.Register(RegisterFile.SEGMENT, spec.fixedIndex(), 2);
      case ONE -> new Operand.Immediate(1, 1);
      case I -> immediate(spec, operandSize);
      case IBS -> new Operand.Immediate(signed(1), size);
      case J ->
          new Operand.Relative(
              signed(spec.size() == OperandSpec.Size.B ? 1 : operandSize == 2 ? 2 : 4),
              operandSize);
      case O ->
          new Operand.Memory(
              override(SEG_DS), -1, -1, 1, little(addressSize), false, addressSize, size);
      case A -> {
        long offset = little(size);
        int selector = (int) little(2);
        yield new Operand.FarPointer(selector, offset, size);
      }
      case X -> new Operand.Memory(override(SEG_DS), 6, -1, 1, 0, false, addressSize, size);
      case Y -> new Operand.Memory(SEG_ES, 7, -1, 1, 0, false, addressSize, size);
    };
  }

  private Operand immediate(OperandSpec spec, int operandSize) throws DecodeException {
    return switch (spec.size()) {
      case B -> new Operand.Immediate(little(1), 1);
      case W -> new Operand.Immediate(little(2), 2);
      // imm16, or imm32 sign-extended to a 64-bit operand
      case Z -> new Operand.Immediate(operandSize == 2 ? little(2) : signed(4), operandSize);
      case V -> new Operand.Immediate(little(operandSize), operandSize);
      default -> throw new IllegalStateException("immediate size " + spec);
    };
  }

  private static Operand sized(Operand memory, int size) {
    Operand.Memory m = (Operand.Memory) memory;
    return new Operand.Memory(
        m.segment(),
        m.base(),
        m.index(),
        m.scale(),
        m.displacement(),
        m.ripRelative(),
        m.addressSize(),
        size);
  }

  private Operand gpr(int index, int size) {
    if (size == 1 && rex == 0 && index >= 4 && index < 8) {
      return new Operand.Register(RegisterFile.GPR_HIGH_BYTE, index - 4, 1);
    }
    return new Operand.Register(RegisterFile.GPR, index, size);
  }

  private static Operand xmm(int index, int size) {
    return new Operand.Register(RegisterFile.XMM, index, size);
  }

  private Operand control(int index, int size) throws DecodeException {
    if (index != 0 && index != 2 && index != 3 && index != 4 && index != 8) {
      throw fail(DecodeException.Reason.INVALID, "no control register CR" + index);
    }
    return new Operand.Register(RegisterFile.CONTROL, index, size);
  }

  private Operand segment(int index, int opcode) throws DecodeException {
    // There are six segment registers, and MOV cannot load CS.
    if (index > 5 || (opcode == 0x8E && index == 1)) {
      throw fail(DecodeException.Reason.INVALID, "no segment register " + index + " here");
    }
    return new Operand.Register(RegisterFile.SEGMENT, index, 2);
  }
}
