package dev.glint.x86.decoder;

import java.util.Locale;

/**
 * One parsed operand of an {@link dev.glint.x86.decoder.InstructionTable} entry: its addressing
 * method and its size code (see the table's documentation for the notation).
 *
 * @param method how the operand is encoded
 * @param size how its size is found
 * @param fixedIndex the register number of a {@link Method#FIXED_GPR} or {@link
 *     Method#FIXED_SEGMENT} operand
 */
record OperandSpec(Method method, Size size, int fixedIndex) {

  /** How an operand is encoded. */
  public enum Method {
    E,
    G,
    M,
    R,
    C,
    S,
    Z,
    I,
    IBS,
    J,
    O,
    A,
    X,
    Y,
    V,
    U,
    W,
    FIXED_GPR,
    FIXED_SEGMENT,
    ONE;

    /** {@return whether the operand lives in the ModRM byte} */
    boolean usesModRm() {
      return switch (this) {
        case E, G, M, R, C, S, V, U, W -> true;
        default -> false;
      };
    }
  }

  /** How an operand's size is found. */
  public enum Size {
    NONE,
    B,
    W,
    D,
    Q,
    /** The operand size. */
    V,
    /** The operand size, at most 4. */
    Z,
    /** 8 with REX.W, else 4. */
    Y,
    /** 16 (an XMM register). */
    X,
    /** The natural width of the mode (8 in long mode, else 4). */
    NATURAL;

    /** {@return the size in bytes for the given operand size and REX.W} */
    int bytes(int operandSize, boolean rexW, boolean longMode) {
      return switch (this) {
        case NONE -> 0;
        case B -> 1;
        case W -> 2;
        case D -> 4;
        case Q -> 8;
        case V -> operandSize;
        case Z -> Math.min(operandSize, 4);
        case Y -> rexW ? 8 : 4;
        case X -> 16;
        case NATURAL -> longMode ? 8 : 4;
      };
    }
  }

  /**
   * {@return the parsed form of {@code text}, such as {@code Ev}, {@code Ibs}, {@code rAX}}
   *
   * @throws IllegalArgumentException if the notation is unknown
   */
  static OperandSpec parse(String text) {
    switch (text) {
      case "AL":
        return new OperandSpec(Method.FIXED_GPR, Size.B, 0);
      case "CL":
        return new OperandSpec(Method.FIXED_GPR, Size.B, 1);
      case "DX":
        return new OperandSpec(Method.FIXED_GPR, Size.W, 2);
      case "rAX":
        return new OperandSpec(Method.FIXED_GPR, Size.V, 0);
      case "eAX":
        return new OperandSpec(Method.FIXED_GPR, Size.Z, 0);
      case "ES":
        return new OperandSpec(Method.FIXED_SEGMENT, Size.W, 0);
      case "CS":
        return new OperandSpec(Method.FIXED_SEGMENT, Size.W, 1);
      case "SS":
        return new OperandSpec(Method.FIXED_SEGMENT, Size.W, 2);
      case "DS":
        return new OperandSpec(Method.FIXED_SEGMENT, Size.W, 3);
      case "FS":
        return new OperandSpec(Method.FIXED_SEGMENT, Size.W, 4);
      case "GS":
        return new OperandSpec(Method.FIXED_SEGMENT, Size.W, 5);
      case "1":
        return new OperandSpec(Method.ONE, Size.B, 0);
      case "Ibs":
        return new OperandSpec(Method.IBS, Size.V, 0);
      case "R":
        return new OperandSpec(Method.R, Size.NATURAL, 0);
      case "C":
        return new OperandSpec(Method.C, Size.NATURAL, 0);
      case "M":
        return new OperandSpec(Method.M, Size.NONE, 0);
      case "Ap":
        return new OperandSpec(Method.A, Size.Z, 0);
      default:
        break;
    }
    Method method = Method.valueOf(text.substring(0, 1));
    String code = text.substring(1);
    Size size =
        switch (code) {
          case "ss", "d" -> Size.D;
          case "sd", "q" -> Size.Q;
          default -> Size.valueOf(code.toUpperCase(Locale.ROOT));
        };
    return new OperandSpec(method, size, 0);
  }
}
