package dev.glint.hv.emulated.internal.fault;

/**
 * An exception the guest raised (a fault such as {@code #PF}, {@code #GP} or {@code #UD}),
 * unwinding the instruction being executed so that it is delivered through the guest's IDT. One
 * preallocated instance per vCPU, without a stack trace: raising a guest fault allocates nothing.
 * It never leaves the vCPU's run loop.
 */
public final class GuestFault extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** {@code #DE}: divide error. */
  public static final int DE = 0;

  /** {@code #DB}: debug. */
  public static final int DB = 1;

  /** {@code #BP}: breakpoint ({@code int3}). */
  public static final int BP = 3;

  /** {@code #UD}: invalid opcode. */
  public static final int UD = 6;

  /** {@code #NM}: device not available. */
  public static final int NM = 7;

  /** {@code #DF}: double fault. */
  public static final int DF = 8;

  /** {@code #TS}: invalid TSS. */
  public static final int TS = 10;

  /** {@code #NP}: segment not present. */
  public static final int NP = 11;

  /** {@code #SS}: stack fault. */
  public static final int SS = 12;

  /** {@code #GP}: general protection. */
  public static final int GP = 13;

  /** {@code #PF}: page fault. */
  public static final int PF = 14;

  /** {@code #MF}: x87 floating-point error. */
  public static final int MF = 16;

  /** {@code #AC}: alignment check. */
  public static final int AC = 17;

  /** {@code #XM}: SIMD floating-point exception. */
  public static final int XM = 19;

  private int vector;
  private int errorCode;
  private boolean hasErrorCode;
  private long faultAddress;

  /** Creates the vCPU's instance. */
  public GuestFault() {
    super(null, null, false, false);
  }

  /** {@return this fault, set to {@code vector} without an error code} */
  public GuestFault of(int vector) {
    this.vector = vector;
    this.errorCode = 0;
    this.hasErrorCode = false;
    return this;
  }

  /** {@return this fault, set to {@code vector} with {@code errorCode}} */
  public GuestFault of(int vector, int errorCode) {
    this.vector = vector;
    this.errorCode = errorCode;
    this.hasErrorCode = true;
    return this;
  }

  /** {@return this fault, set to a page fault at linear {@code address}} */
  public GuestFault pageFault(long address, int errorCode) {
    of(PF, errorCode);
    this.faultAddress = address;
    return this;
  }

  /** {@return the exception vector} */
  public int vector() {
    return vector;
  }

  /** {@return the error code (0 when there is none)} */
  public int errorCode() {
    return errorCode;
  }

  /** {@return whether the exception pushes an error code} */
  public boolean hasErrorCode() {
    return hasErrorCode;
  }

  /** {@return the linear address of a page fault (for CR2)} */
  public long faultAddress() {
    return faultAddress;
  }

  @Override
  public String getMessage() {
    return "guest exception " + vector + (hasErrorCode ? " (error code " + errorCode + ")" : "");
  }
}
