package dev.glint.hv.conformance;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.hv.Availability;
import dev.glint.hv.Capability;
import dev.glint.hv.HypervisorException;
import dev.glint.hv.Register;
import dev.glint.hv.Registers;
import dev.glint.hv.SpecialRegisters;
import dev.glint.hv.VcpuExit;
import dev.glint.hv.x86.Gdt;
import dev.glint.hv.x86.X86;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Entering the guest in each mode the SPI supports (real mode, long mode at CPL 0, long mode at CPL
 * 3 set up by the host), halting, shutting down, and reading back what the host set.
 */
public abstract class ExecutionModeTests extends ConformanceTestBase {

  /** Creates the test instance; JUnit calls it. */
  protected ExecutionModeTests() {}

  @Test
  void probeAgreesWithTheOpenedHypervisor() {
    var available = assertInstanceOf(Availability.Available.class, provider().probe());
    assertEquals(provider().name(), hypervisor().name(), "name");
    assertEquals(available.capabilities(), hypervisor().capabilities(), "capabilities");
    assertEquals(
        available.privilegedExecution(), hypervisor().privilegedExecution(), "privilegedExecution");
    assertTrue(hypervisor().maxMemoryBytes() >= TestGuest.RAM_SIZE, "maxMemoryBytes");
  }

  @Test
  void realModeEntryRuns16BitCodeAtSegmentTimesSixteen() {
    requires(Capability.REAL_MODE);
    try (TestGuest guest = realModeGuest()) {
      // CS = 0x100: the code runs at linear 0x1000 only if real-mode segmentation is applied.
      guest.startRealMode(0x100, GuestPrograms.REAL_MODE_ADD, r -> r.with(Register.RBX, 0x1111));
      guest.runExpectingOut(0x10, 2, 0x2345);
      guest.run(VcpuExit.Halt.class);
      Registers registers = guest.vcpu.registers();
      assertEquals(0x2345, registers.rax() & 0xFFFF, "AX");
      assertEquals(GuestPrograms.REAL_MODE_ADD.length, registers.rip(), "IP after hlt");
    }
  }

  @Test
  void longModeEntryAtCpl0Computes64Bit() {
    try (TestGuest guest = longModeGuest()) {
      guest.startKernel(GuestPrograms.ADD_64, r -> r.with(Register.RBX, 0x10_0000_0001L));
      guest.run(VcpuExit.Halt.class);
      Registers registers = guest.vcpu.registers();
      assertEquals(0x12_0000_0000L, registers.rax(), "RAX: the carry crosses bit 32");
      assertEquals(
          TestGuest.KERNEL_CODE + GuestPrograms.ADD_64_HLT + 1, registers.rip(), "RIP after hlt");
      SpecialRegisters sregs = guest.vcpu.specialRegisters();
      assertEquals(0, sregs.cpl(), "CPL");
      assertTrue(sregs.cs().longMode(), "CS.L");
      assertEquals(X86.EFER_LMA, sregs.efer() & X86.EFER_LMA, "EFER.LMA");
    }
  }

  @Test
  void userModeEntryAtCpl3RunsTheUserCode() {
    requires(Capability.USER_MODE_ENTRY);
    try (TestGuest guest = longModeGuest()) {
      guest.startUser(GuestPrograms.ADD_64_OUT, r -> r.with(Register.RBX, 0x5_1234_5679L));
      guest.runExpectingOut(0x10, 4, 0x1234_5678L);
      SpecialRegisters sregs = guest.vcpu.specialRegisters();
      assertEquals(3, sregs.cpl(), "CPL at the out exit");
      assertEquals(Gdt.USER_CODE_SELECTOR, sregs.cs().selector(), "CS");
      assertEquals(Gdt.USER_DATA_SELECTOR, sregs.ss().selector(), "SS");
      Registers registers = guest.vcpu.registers();
      assertEquals(0x7_1234_5678L, registers.rax(), "RAX at the out exit");
      assertEquals(TestGuest.USER_CODE + 15, registers.rip(), "RIP after the first out");
      guest.runExpectingOut(0x11, 4, 0x7);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(TestGuest.Privilege.class)
  void sseRunsInTheLongModeTheHelpersSetUp(TestGuest.Privilege privilege) {
    requires(privilege);
    try (TestGuest guest = longModeGuest()) {
      byte[] pattern = new byte[16];
      for (int i = 0; i < pattern.length; i++) {
        pattern[i] = (byte) (0xA0 + i);
      }
      guest.write(TestGuest.USER_DATA, pattern);
      guest.start(
          privilege, GuestPrograms.SSE_COPY, r -> r.with(Register.RBX, TestGuest.USER_DATA));
      guest.runToDone();
      assertEquals(guest.readLong(TestGuest.USER_DATA), guest.readLong(TestGuest.USER_DATA + 16));
      assertEquals(
          guest.readLong(TestGuest.USER_DATA + 8), guest.readLong(TestGuest.USER_DATA + 24));
    }
  }

  @Test
  void haltExitsAndTheNextRunContinuesAfterIt() {
    try (TestGuest guest = longModeGuest()) {
      guest.startKernel(GuestPrograms.HALT_THEN_OUT, r -> r);
      guest.run(VcpuExit.Halt.class);
      assertEquals(TestGuest.KERNEL_CODE + 1, guest.vcpu.registers().rip(), "RIP after hlt");
      guest.runExpectingOut(0x10, 4, 0x600D);
      guest.run(VcpuExit.Halt.class);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(TestGuest.Privilege.class)
  void registersSetBetweenExitsReachTheGuest(TestGuest.Privilege privilege) {
    requires(privilege);
    try (TestGuest guest = longModeGuest()) {
      guest.start(privilege, GuestPrograms.OUT_EAX_TWICE, r -> r.with(Register.RAX, 0x1111));
      guest.runExpectingOut(0x10, 4, 0x1111);
      // A backend that stages register writes must not lose this one, nor apply a stale copy.
      guest.vcpu.setRegisters(guest.vcpu.registers().withRax(0x2222));
      assertEquals(0x2222, guest.vcpu.registers().rax(), "read back before the run");
      guest.runExpectingOut(0x11, 4, 0x2222);
    }
  }

  @Test
  void tripleFaultShutsDown() {
    try (TestGuest guest = longModeGuest()) {
      guest.startKernel(GuestPrograms.UD2, r -> r);
      // #UD cannot be delivered through an IDT of limit 0: #GP, then #DF, then shutdown.
      guest.vcpu.setSpecialRegisters(guest.kernelModeWithoutIdt());
      guest.run(VcpuExit.Shutdown.class);
      // New registers make the vCPU usable again, as the SPI promises.
      guest.startKernel(GuestPrograms.HALT_THEN_OUT, r -> r);
      guest.run(VcpuExit.Halt.class);
      guest.runExpectingOut(0x10, 4, 0x600D);
    }
  }

  /**
   * Special registers no CPU accepts (CR0.PG without CR0.PE) are refused with a {@link
   * HypervisorException}, either when set or, for a backend that stages them, at the next run; or
   * the run reports a failed entry. Never a crash, never a guest run.
   */
  @Test
  void impossibleSpecialRegistersAreRefused() {
    try (TestGuest guest = longModeGuest()) {
      guest.startKernel(GuestPrograms.HLT, r -> r);
      SpecialRegisters valid = guest.kernelMode();
      SpecialRegisters pagingWithoutProtection =
          new SpecialRegisters(
              valid.cs(),
              valid.ds(),
              valid.es(),
              valid.fs(),
              valid.gs(),
              valid.ss(),
              valid.tr(),
              valid.ldt(),
              valid.gdt(),
              valid.idt(),
              X86.CR0_PG | X86.CR0_ET,
              valid.cr2(),
              valid.cr3(),
              valid.cr4(),
              valid.cr8(),
              valid.efer(),
              valid.apicBase());
      try {
        guest.vcpu.setSpecialRegisters(pagingWithoutProtection);
        VcpuExit exit = guest.vcpu.run();
        assertTrue(
            exit instanceof VcpuExit.FailEntry || exit instanceof VcpuExit.InternalError,
            () -> "CR0 0x80000010 (PG without PE) ran the guest: " + exit);
      } catch (HypervisorException expected) {
        assertEquals(hypervisor().name(), expected.backend(), "backend in " + expected);
        assertFalse(expected.operation().isEmpty(), "operation in " + expected);
      }
    }
  }

  @Test
  void generalRegistersRoundTrip() {
    try (TestGuest guest = longModeGuest()) {
      long[] values = new long[Register.values().length];
      for (int i = 0; i < values.length; i++) {
        values[i] = 0x0101_0101_0101_0101L * (i + 1) ^ 0x8000_0000_0000_0000L;
      }
      values[Register.RIP.ordinal()] = TestGuest.KERNEL_CODE + 0x123;
      // CF, PF, ZF, SF, OF and the fixed bit 1; no TF or IF, which would change how it runs.
      values[Register.RFLAGS.ordinal()] = 0x8C7;
      Registers expected = Registers.fromArray(values);
      guest.vcpu.setSpecialRegisters(guest.kernelMode());
      guest.vcpu.setRegisters(expected);
      assertEquals(expected, guest.vcpu.registers());
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(TestGuest.Privilege.class)
  void specialRegistersRoundTrip(TestGuest.Privilege privilege) {
    try (TestGuest guest = longModeGuest()) {
      SpecialRegisters base =
          privilege == TestGuest.Privilege.KERNEL ? guest.kernelMode() : guest.userMode();
      SpecialRegisters expected = base.withCr2(0xDEAD_B000L);
      guest.vcpu.setSpecialRegisters(expected);
      SpecialRegisters actual = guest.vcpu.specialRegisters();
      assertAll(
          () -> assertEquals(expected.cs(), actual.cs(), "CS"),
          () -> assertEquals(expected.ds(), actual.ds(), "DS"),
          () -> assertEquals(expected.es(), actual.es(), "ES"),
          () -> assertEquals(expected.fs(), actual.fs(), "FS"),
          () -> assertEquals(expected.gs(), actual.gs(), "GS"),
          () -> assertEquals(expected.ss(), actual.ss(), "SS"),
          () -> assertEquals(expected.tr(), actual.tr(), "TR"),
          () -> assertEquals(expected.gdt(), actual.gdt(), "GDTR"),
          () -> assertEquals(expected.idt(), actual.idt(), "IDTR"),
          () -> assertEquals(hex(expected.cr0()), hex(actual.cr0()), "CR0"),
          () -> assertEquals(hex(expected.cr2()), hex(actual.cr2()), "CR2"),
          () -> assertEquals(hex(expected.cr3()), hex(actual.cr3()), "CR3"),
          () -> assertEquals(hex(expected.cr4()), hex(actual.cr4()), "CR4"),
          () -> assertEquals(hex(expected.efer()), hex(actual.efer()), "EFER"),
          () -> assertEquals(expected.cpl(), actual.cpl(), "CPL"));
    }
  }

  private static String hex(long value) {
    return "0x" + Long.toHexString(value);
  }
}
