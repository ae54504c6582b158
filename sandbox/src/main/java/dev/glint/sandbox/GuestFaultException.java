package dev.glint.sandbox;

import java.util.OptionalLong;

/**
 * The guest raised a CPU exception (ABI §6): a page fault, general protection fault, invalid
 * opcode, divide error, a stack overflow into the guard page, or a triple fault (reported as #DF
 * with unknown address). The sandbox is poisoned.
 */
public final class GuestFaultException extends SandboxException {
  private static final long serialVersionUID = 1L;

  /** Serialized; see {@link #vector()}. */
  private final int vector;

  /** Serialized; see {@link #vectorName()}. */
  private final String vectorName;

  /** Serialized; see {@link #errorCode()}. */
  private final long errorCode;

  /** Serialized; see {@link #rip()}. */
  private final long rip;

  /** Serialized; whether {@link #rip} is known (any value, all ones included, is a real RIP). */
  private final boolean ripKnown;

  /** Serialized; see {@link #faultAddress()}. */
  private final long faultAddress;

  /** Serialized; whether {@link #faultAddress} is known. */
  private final boolean faultAddressKnown;

  /** Serialized; see {@link #cpl()}. */
  private final int cpl;

  GuestFaultException(
      String message,
      int vector,
      String vectorName,
      long errorCode,
      OptionalLong rip,
      OptionalLong faultAddress,
      int cpl) {
    super(message, null);
    this.vector = vector;
    this.vectorName = vectorName;
    this.errorCode = errorCode;
    this.rip = rip.orElse(0);
    this.ripKnown = rip.isPresent();
    this.faultAddress = faultAddress.orElse(0);
    this.faultAddressKnown = faultAddress.isPresent();
    this.cpl = cpl;
  }

  /** {@return the exception vector, 0..31 (14 for #PF, 13 for #GP, 8 for a triple fault)} */
  public int vector() {
    return vector;
  }

  /** {@return the vector's name, such as "#PF (page fault)"} */
  public String vectorName() {
    return vectorName;
  }

  /** {@return the error code the CPU pushed, 0 for vectors without one} */
  public long errorCode() {
    return errorCode;
  }

  /** {@return the address of the faulting instruction, empty after a triple fault} */
  public OptionalLong rip() {
    return ripKnown ? OptionalLong.of(rip) : OptionalLong.empty();
  }

  /** {@return the linear address a page fault accessed (CR2); empty for other vectors} */
  public OptionalLong faultAddress() {
    return faultAddressKnown ? OptionalLong.of(faultAddress) : OptionalLong.empty();
  }

  /** {@return the privilege level of the faulting code, 0 or 3, or -1 if unknown} */
  public int cpl() {
    return cpl;
  }

  @Override
  public boolean poisons() {
    return true;
  }
}
