package dev.glint.hv.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.glint.hv.Capability;
import dev.glint.hv.Register;
import dev.glint.hv.Registers;
import dev.glint.hv.Vcpu;
import dev.glint.hv.VcpuExit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link Vcpu#settle()}: what a hypervisor finishes at the next run (skipping an {@code out},
 * storing the value of an {@code in} or an MMIO read) happens at once, so that state read
 * afterwards is what the guest resumes with and state set afterwards is kept. Snapshots and
 * restores depend on this: a restore that sets RIP to the {@code out} the last exit reported must
 * run that {@code out} again, not skip it.
 */
public abstract class SettleTests extends ConformanceTestBase {

  /** Creates the test instance; JUnit calls it. */
  protected SettleTests() {}

  /** {@code out 0x40, al} at offset 5 of {@link GuestPrograms#OUT_SIZES}, 2 bytes long. */
  private static final int FIRST_OUT = 5;

  @ParameterizedTest(name = "{0}")
  @EnumSource(TestGuest.Privilege.class)
  void afterAnOutExitRipIsPastTheOut(TestGuest.Privilege privilege) {
    requires(privilege);
    try (TestGuest guest = longModeGuest()) {
      guest.start(privilege, GuestPrograms.OUT_SIZES, r -> r);
      guest.runExpectingOut(0x40, 1, 0xDD);
      guest.vcpu.settle();
      assertEquals(
          guest.codeAddress(privilege) + FIRST_OUT + 2,
          guest.vcpu.registers().rip(),
          "settled RIP: past the 2-byte out");
      guest.runExpectingOut(0x41, 2, 0xCCDD);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(TestGuest.Privilege.class)
  void registersSetToTheOutItselfAfterSettlingRunTheOutAgain(TestGuest.Privilege privilege) {
    requires(privilege);
    try (TestGuest guest = longModeGuest()) {
      guest.start(privilege, GuestPrograms.OUT_SIZES, r -> r);
      guest.runExpectingOut(0x40, 1, 0xDD);
      Registers atOut = guest.vcpu.registers();
      guest.vcpu.settle();
      // A restore to a state whose RIP is the out the last exit reported.
      guest.vcpu.setRegisters(
          atOut.withRip(guest.codeAddress(privilege) + FIRST_OUT).withRax(0xAABB_CC11L));
      guest.runExpectingOut(0x40, 1, 0x11);
      guest.runExpectingOut(0x41, 2, 0xCC11);
    }
  }

  /** The restore of a snapshot taken elsewhere: RIP set to another instruction after settling. */
  @ParameterizedTest(name = "{0}")
  @EnumSource(TestGuest.Privilege.class)
  void registersSetElsewhereAfterSettlingRunFromThere(TestGuest.Privilege privilege) {
    requires(privilege);
    try (TestGuest guest = longModeGuest()) {
      guest.start(privilege, GuestPrograms.OUT_SIZES, r -> r);
      guest.runExpectingOut(0x40, 1, 0xDD);
      guest.runExpectingOut(0x41, 2, 0xCCDD);
      Registers atSecondOut = guest.vcpu.registers();
      guest.vcpu.settle();
      guest.vcpu.setRegisters(atSecondOut.withRip(guest.codeAddress(privilege)));
      guest.runExpectingOut(0x40, 1, 0xDD);
      guest.runExpectingOut(0x41, 2, 0xCCDD);
      guest.vcpu.settle();
      guest.vcpu.settle(); // twice is once
      guest.vcpu.setRegisters(atSecondOut.withRip(guest.codeAddress(privilege) + FIRST_OUT));
      guest.runExpectingOut(0x40, 1, 0xDD);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(TestGuest.Privilege.class)
  void anUnansweredInReadsZeroAndRegistersSetAfterwardsAreKept(TestGuest.Privilege privilege) {
    requires(privilege);
    try (TestGuest guest = longModeGuest()) {
      guest.start(
          privilege, GuestPrograms.IN_SIZES, r -> r.with(Register.RAX, 0x1111_1111_1111_1111L));
      guest.runExpecting(new VcpuExit.IoIn(0x50, 1));
      guest.vcpu.settle();
      Registers settled = guest.vcpu.registers();
      assertEquals(0x1111_1111_1111_1100L, settled.rax(), "in al completed with zero");
      assertEquals(guest.codeAddress(privilege) + 2, settled.rip(), "past the 2-byte in");
      guest.vcpu.setRegisters(settled.withRax(0x2222_2222_2222_2222L));
      guest.runExpecting(new VcpuExit.IoIn(0x51, 2));
      guest.vcpu.completeIoIn(0xABCD);
      guest.runExpecting(new VcpuExit.IoIn(0x3F8, 4));
      guest.vcpu.completeIoIn(0x1234_5678);
      guest.runToDone();
      assertEquals(
          0x2222_2222_2222_2222L,
          guest.vcpu.registers().rbx(),
          "RBX took the RAX set after settling, not the completed in");
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(TestGuest.Privilege.class)
  void anUnansweredMmioReadReadsZeroAndDoesNotOverwriteLaterRegisters(
      TestGuest.Privilege privilege) {
    requires(privilege);
    try (TestGuest guest = longModeGuest()) {
      long base = TestGuest.MMIO;
      guest.start(
          privilege,
          GuestPrograms.MMIO,
          r -> r.with(Register.RBX, base).with(Register.RAX, -1L).with(Register.RCX, 7));
      guest.runExpecting(new VcpuExit.MmioWrite(base + 0x10, 4, 0xDEAD_BEEFL));
      guest.runExpecting(new VcpuExit.MmioWrite(base + 0x1, 1, 0x5A));
      guest.runExpecting(new VcpuExit.MmioWrite(base + 0x18, 8, 7));
      guest.runExpecting(new VcpuExit.MmioRead(base + 0x20, 4));
      guest.vcpu.settle();
      Registers settled = guest.vcpu.registers();
      assertEquals(0, settled.rax(), "mov eax, [mmio] completed with zero (zero-extended)");
      assertEquals(guest.codeAddress(privilege) + 18, settled.rip(), "past mov eax, [rbx+0x20]");
      guest.vcpu.setRegisters(settled.withRax(0x600D));
      guest.runExpecting(new VcpuExit.MmioRead(base + 0x30, 2));
      guest.vcpu.completeMmioRead(0xBEEF);
      guest.runExpecting(new VcpuExit.MmioRead(base + 0x28, 8));
      guest.vcpu.completeMmioRead(0x55);
      guest.runToDone();
      assertEquals(0x600D, guest.vcpu.registers().rax(), "the RAX set after settling");
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(TestGuest.Privilege.class)
  void aStringInHalfwayCompletesWithZeros(TestGuest.Privilege privilege) {
    requires(privilege);
    try (TestGuest guest = longModeGuest()) {
      long destination = TestGuest.USER_DATA;
      guest.write(destination, new byte[] {0x7F, 0x7F, 0x7F, 0x7F, 0x7F});
      guest.start(
          privilege,
          GuestPrograms.STRING_IO,
          r -> r.with(Register.RDI, destination).with(Register.RSI, destination));
      guest.runExpecting(new VcpuExit.IoIn(0x50, 1));
      guest.vcpu.completeIoIn(0x42);
      guest.runExpecting(new VcpuExit.IoIn(0x50, 1));
      guest.vcpu.settle();
      Registers settled = guest.vcpu.registers();
      assertEquals(0, settled.rcx(), "rep insb ran to its end");
      assertEquals(destination + 4, settled.rdi(), "RDI past the four bytes");
      // RIP may rest on the rep insb (with RCX 0 it does nothing) or past it: both resume alike.
      byte[] stored = new byte[5];
      for (int i = 0; i < 5; i++) {
        stored[i] = (byte) (guest.readInt(destination + i) & 0xFF);
      }
      assertArrayEquals(new byte[] {0x42, 0, 0, 0, 0x7F}, stored, "the rest read as zeros");
      guest.runExpectingOut(0x51, 1, 0x42); // no more in items: straight on to rep outsb
    }
  }

  @Test
  void withNothingPendingSettleChangesNothing() {
    try (TestGuest guest = longModeGuest()) {
      guest.startKernel(GuestPrograms.HALT_THEN_OUT, r -> r.with(Register.RDX, 0x5EED));
      Registers before = guest.vcpu.registers();
      guest.vcpu.settle();
      assertEquals(before, guest.vcpu.registers(), "before the first run");
      guest.run(VcpuExit.Halt.class);
      Registers halted = guest.vcpu.registers();
      guest.vcpu.settle();
      assertEquals(halted, guest.vcpu.registers(), "after a halt");
      guest.runExpectingOut(0x10, 4, 0x600D);
    }
  }

  @Test
  void aPendingInterruptStaysPending() {
    requires(Capability.CANCEL);
    try (TestGuest guest = longModeGuest()) {
      guest.startKernel(GuestPrograms.OUT_SIZES, r -> r);
      guest.runExpectingOut(0x40, 1, 0xDD);
      guest.vcpu.interrupter().interrupt();
      guest.vcpu.settle();
      guest.run(VcpuExit.Cancelled.class);
      guest.runExpectingOut(0x41, 2, 0xCCDD);
    }
  }
}
