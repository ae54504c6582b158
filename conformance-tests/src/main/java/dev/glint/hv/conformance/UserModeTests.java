package dev.glint.hv.conformance;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.glint.hv.Capability;
import dev.glint.hv.Register;
import dev.glint.hv.VcpuExit;
import dev.glint.hv.x86.Gdt;
import dev.glint.hv.x86.X86;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * CPL-3 guest code started directly by the host ({@link Capability#USER_MODE_ENTRY}): port access
 * through the TSS I/O permission bitmap, and the exceptions user code raises, delivered through the
 * CPL-0 IDT on the TSS's RSP0 stack with the architectural frame. The CPL-0 handler ({@link
 * GuestPrograms#FAULT_COMMON}) reports the frame with one {@code out}, then halts.
 */
public abstract class UserModeTests extends ConformanceTestBase {

  /** Creates the test instance; JUnit calls it. */
  protected UserModeTests() {}

  @BeforeEach
  final void requireUserModeEntry() {
    requires(Capability.USER_MODE_ENTRY);
  }

  @Test
  void outFromCpl3IsAllowedByTheIoBitmapAndDeniedPortsRaiseGp() {
    try (TestGuest guest = longModeGuest()) {
      guest.startUser(GuestPrograms.OUT_ALLOWED_THEN_DENIED, r -> r);
      guest.runExpectingOut(0x10, 1, 0x5a);
      // Port 0x80 is outside the bitmap: #GP(0) at the second out, offset 4.
      assertUserFault(guest.runExpectingFault(), X86.VECTOR_GP, 0, TestGuest.USER_CODE + 4);
      guest.run(VcpuExit.Halt.class); // the handler halts at CPL 0
    }
  }

  /** Instructions that only CPL 0 may execute. */
  enum PrivilegedInstruction {
    HLT(GuestPrograms.HLT),
    CLI(GuestPrograms.CLI),
    MOV_TO_CR3(GuestPrograms.MOV_TO_CR3);

    final byte[] code;

    PrivilegedInstruction(byte[] code) {
      this.code = code;
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(PrivilegedInstruction.class)
  void privilegedInstructionAtCpl3RaisesGpZero(PrivilegedInstruction instruction) {
    try (TestGuest guest = longModeGuest()) {
      guest.startUser(instruction.code, r -> r.with(Register.RAX, TestGuest.PAGE_TABLES));
      assertUserFault(guest.runExpectingFault(), X86.VECTOR_GP, 0, TestGuest.USER_CODE);
      guest.run(VcpuExit.Halt.class);
    }
  }

  /** Faults without an error code, with the offset of the faulting instruction. */
  enum UserException {
    INVALID_OPCODE(GuestPrograms.UD2, X86.VECTOR_UD, 0),
    DIVIDE_ERROR(GuestPrograms.DIVIDE_BY_ZERO, X86.VECTOR_DE, 2);

    final byte[] code;
    final int vector;
    final int offset;

    UserException(byte[] code, int vector, int offset) {
      this.code = code;
      this.vector = vector;
      this.offset = offset;
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(UserException.class)
  void userExceptionReachesTheKernelHandlerWithItsVector(UserException exception) {
    try (TestGuest guest = longModeGuest()) {
      guest.startUser(exception.code, r -> r);
      assertUserFault(
          guest.runExpectingFault(), exception.vector, 0, TestGuest.USER_CODE + exception.offset);
    }
  }

  /** User accesses that must page-fault, with the error code the SDM gives for each. */
  enum UserPageFault {
    READ_OF_A_SUPERVISOR_PAGE(
        GuestPrograms.LOAD_FROM_RBX, TestGuest.SUPERVISOR_DATA, X86.PF_PRESENT | X86.PF_USER),
    WRITE_TO_A_READ_ONLY_PAGE(
        GuestPrograms.STORE_TO_RBX,
        TestGuest.USER_READ_ONLY,
        X86.PF_PRESENT | X86.PF_WRITE | X86.PF_USER),
    READ_OF_UNMAPPED_PAGE_ZERO(GuestPrograms.LOAD_FROM_RBX, 0x10, X86.PF_USER);

    final byte[] code;
    final long address;
    final int errorCode;

    UserPageFault(byte[] code, long address, int errorCode) {
      this.code = code;
      this.address = address;
      this.errorCode = errorCode;
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(UserPageFault.class)
  void userAccessRaisesPageFaultWithErrorCodeAndCr2(UserPageFault access) {
    try (TestGuest guest = longModeGuest()) {
      guest.startUser(access.code, r -> r.with(Register.RBX, access.address));
      TestGuest.Fault fault = guest.runExpectingFault();
      assertUserFault(fault, X86.VECTOR_PF, access.errorCode, TestGuest.USER_CODE);
      assertEquals(access.address, fault.cr2(), () -> "CR2 in " + fault);
    }
  }

  /**
   * After a fault the vCPU sits at CPL 0 in the handler; the host returns to user mode by setting
   * the special registers (CS and SS at CPL 3) as well as the general ones, as the sandbox does.
   */
  @Test
  void userModeIsReenteredAfterAFaultBySettingBothRegisterSets() {
    try (TestGuest guest = longModeGuest()) {
      guest.startUser(GuestPrograms.HLT, r -> r);
      assertUserFault(guest.runExpectingFault(), X86.VECTOR_GP, 0, TestGuest.USER_CODE);
      assertEquals(0, guest.vcpu.specialRegisters().cpl(), "the handler runs at CPL 0");
      guest.startUser(GuestPrograms.ADD_64_OUT, r -> r.with(Register.RBX, 0x5_1234_5679L));
      guest.runExpectingOut(0x10, 4, 0x1234_5678L);
      assertEquals(3, guest.vcpu.specialRegisters().cpl(), "back at CPL 3");
    }
  }

  private static void assertUserFault(TestGuest.Fault fault, int vector, long errorCode, long rip) {
    assertAll(
        () -> assertEquals(vector, fault.vector(), () -> "vector in " + fault),
        () -> assertEquals(errorCode, fault.errorCode(), () -> "error code in " + fault),
        () -> assertEquals(rip, fault.rip(), () -> "RIP in " + fault),
        () -> assertEquals(Gdt.USER_CODE_SELECTOR, fault.cs(), () -> "CS (RPL 3) in " + fault),
        () -> assertEquals(Gdt.USER_DATA_SELECTOR, fault.ss(), () -> "SS in " + fault),
        () -> assertEquals(TestGuest.USER_STACK_TOP, fault.rsp(), () -> "RSP in " + fault));
  }
}
