package dev.glint.hv.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.glint.hv.Register;
import dev.glint.hv.Registers;
import dev.glint.hv.VcpuExit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Port I/O exits: {@code out} data as the guest wrote it, {@code in} answered by the host; at CPL 0
 * and at CPL 3 (ports allowed by the TSS I/O permission bitmap).
 */
public abstract class PortIoTests extends ConformanceTestBase {

  /** Creates the test instance; JUnit calls it. */
  protected PortIoTests() {}

  @ParameterizedTest(name = "{0}")
  @EnumSource(TestGuest.Privilege.class)
  void outOfOneTwoAndFourBytesCarriesPortSizeAndData(TestGuest.Privilege privilege) {
    requires(privilege);
    try (TestGuest guest = longModeGuest()) {
      guest.start(privilege, GuestPrograms.OUT_SIZES, r -> r);
      guest.runExpectingOut(0x40, 1, 0xDD);
      guest.runExpectingOut(0x41, 2, 0xCCDD);
      guest.runExpectingOut(0x42, 4, 0xAABB_CCDDL);
      guest.runExpectingOut(0x3F8, 1, 0xDD);
      guest.runExpectingOut(0x3F8, 4, 0xAABB_CCDDL);
      guest.runToDone();
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(TestGuest.Privilege.class)
  void inIsAnsweredByTheHostWithOnlyTheAccessSize(TestGuest.Privilege privilege) {
    requires(privilege);
    try (TestGuest guest = longModeGuest()) {
      guest.start(
          privilege, GuestPrograms.IN_SIZES, r -> r.with(Register.RAX, 0x1111_1111_1111_1111L));
      guest.runExpecting(new VcpuExit.IoIn(0x50, 1));
      // Bytes beyond the access size must not reach the guest.
      guest.vcpu.completeIoIn(0x7777_77ABL);
      guest.runExpecting(new VcpuExit.IoIn(0x51, 2));
      guest.vcpu.completeIoIn(0x9999_CDEFL);
      guest.runExpecting(new VcpuExit.IoIn(0x3F8, 4));
      guest.vcpu.completeIoIn(0x5555_5555_89AB_CDEFL);
      guest.runToDone();
      Registers registers = guest.vcpu.registers();
      assertEquals(
          0x1111_1111_1111_11ABL, registers.rbx(), "in al keeps the rest of RAX (copied to RBX)");
      assertEquals(0x1111_1111_1111_CDEFL, registers.rcx(), "in ax keeps the rest (RCX)");
      assertEquals(0x89AB_CDEFL, registers.rax(), "in eax zero-extends into RAX");
    }
  }

  /**
   * {@code rep insb}/{@code rep outsb} give one exit per item, in order, whether the hypervisor
   * batches them (KVM on VMX/SVM reports a count) or not (PVM's emulator exits per item).
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(TestGuest.Privilege.class)
  void stringIoIsOneExitPerItemInOrder(TestGuest.Privilege privilege) {
    requires(privilege);
    try (TestGuest guest = longModeGuest()) {
      long destination = TestGuest.USER_DATA;
      long source = TestGuest.USER_DATA + 0x100;
      guest.write(source, new byte[] {0x0A, 0x0B, 0x0C, 0x0D});
      guest.start(
          privilege,
          GuestPrograms.STRING_IO,
          r -> r.with(Register.RDI, destination).with(Register.RSI, source));
      for (int i = 0; i < 4; i++) {
        guest.runExpecting(new VcpuExit.IoIn(0x50, 1));
        guest.vcpu.completeIoIn(0x11 * (i + 1));
      }
      for (int i = 0; i < 4; i++) {
        guest.runExpectingOut(0x51, 1, 0x0A + i);
      }
      guest.runToDone();
      assertEquals(
          "0x44332211",
          "0x%08x".formatted(guest.readInt(destination)),
          "the 4 bytes rep insb stored: each completeIoIn answers its own item, in order");
    }
  }
}
