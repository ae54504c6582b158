package dev.glint.hv;

/**
 * The general-purpose registers, RIP and RFLAGS of a vCPU: an immutable value. Use {@link
 * #initial()} and the {@code with} methods to build one.
 *
 * <p>The components are 64-bit values; {@code rflags} must have bit 1 set (it is fixed to 1 on
 * x86).
 *
 * @param rax RAX
 * @param rbx RBX
 * @param rcx RCX
 * @param rdx RDX
 * @param rsi RSI
 * @param rdi RDI
 * @param rsp RSP
 * @param rbp RBP
 * @param r8 R8
 * @param r9 R9
 * @param r10 R10
 * @param r11 R11
 * @param r12 R12
 * @param r13 R13
 * @param r14 R14
 * @param r15 R15
 * @param rip RIP
 * @param rflags RFLAGS, bit 1 set
 */
public record Registers(
    long rax,
    long rbx,
    long rcx,
    long rdx,
    long rsi,
    long rdi,
    long rsp,
    long rbp,
    long r8,
    long r9,
    long r10,
    long r11,
    long r12,
    long r13,
    long r14,
    long r15,
    long rip,
    long rflags) {

  /** RFLAGS bit 1, reserved and always 1. */
  public static final long RFLAGS_RESERVED = 1L << 1;

  /** RFLAGS.IF, interrupts enabled. */
  public static final long RFLAGS_IF = 1L << 9;

  /** Checks the fixed RFLAGS bit. */
  public Registers {
    if ((rflags & RFLAGS_RESERVED) == 0) {
      throw new IllegalArgumentException(
          "rflags 0x%x must have bit 1 set (it is fixed to 1 on x86)".formatted(rflags));
    }
  }

  /** {@return all registers zero, RFLAGS = 0x2: the state to build on} */
  public static Registers initial() {
    return new Registers(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, RFLAGS_RESERVED);
  }

  /** {@return the value of {@code register}} */
  public long get(Register register) {
    return switch (register) {
      case RAX -> rax;
      case RBX -> rbx;
      case RCX -> rcx;
      case RDX -> rdx;
      case RSI -> rsi;
      case RDI -> rdi;
      case RSP -> rsp;
      case RBP -> rbp;
      case R8 -> r8;
      case R9 -> r9;
      case R10 -> r10;
      case R11 -> r11;
      case R12 -> r12;
      case R13 -> r13;
      case R14 -> r14;
      case R15 -> r15;
      case RIP -> rip;
      case RFLAGS -> rflags;
    };
  }

  /** {@return a copy with {@code register} set to {@code value}} */
  public Registers with(Register register, long value) {
    long[] v = toArray();
    v[register.ordinal()] = value;
    return fromArray(v);
  }

  /** {@return a copy with RIP set} */
  public Registers withRip(long value) {
    return with(Register.RIP, value);
  }

  /** {@return a copy with RSP set} */
  public Registers withRsp(long value) {
    return with(Register.RSP, value);
  }

  /** {@return a copy with RAX set} */
  public Registers withRax(long value) {
    return with(Register.RAX, value);
  }

  /** {@return a copy with RFLAGS set} */
  public Registers withRflags(long value) {
    return with(Register.RFLAGS, value);
  }

  /** {@return the values in {@link Register} order} */
  public long[] toArray() {
    return new long[] {
      rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags
    };
  }

  /**
   * {@return registers from values in {@link Register} order}
   *
   * @throws IllegalArgumentException if {@code values} does not hold exactly 18 values
   */
  public static Registers fromArray(long[] values) {
    if (values.length != Register.values().length) {
      throw new IllegalArgumentException(
          "expected %d register values, got %d".formatted(Register.values().length, values.length));
    }
    long[] v = values;
    return new Registers(
        v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13],
        v[14], v[15], v[16], v[17]);
  }
}
