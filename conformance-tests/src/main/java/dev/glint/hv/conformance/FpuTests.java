package dev.glint.hv.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.glint.hv.FpuState;
import dev.glint.hv.Register;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * x87/SSE state ({@link dev.glint.hv.Vcpu#fpuState()}): what the host sets is what it reads back
 * and what the guest sees, and what the guest writes the host reads: the state a snapshot must
 * capture and a restore put back.
 */
public abstract class FpuTests extends ConformanceTestBase {

  /** Creates the test instance; JUnit calls it. */
  protected FpuTests() {}

  /** A state with every field away from its reset value. */
  static FpuState sample() {
    byte[] x87 = new byte[FpuState.X87_BYTES];
    byte[] xmm = new byte[FpuState.XMM_BYTES];
    for (int i = 0; i < xmm.length; i++) {
      xmm[i] = (byte) (i * 7 + 1);
    }
    // ST0 = 1.0 in 80-bit extended precision (R0 at offset 0), the tag says R0 is valid.
    x87[7] = (byte) 0x80;
    x87[8] = (byte) 0xFF;
    x87[9] = (byte) 0x3F;
    return new FpuState(x87, 0x27F, 0x3800, 0x01, 0, 0, 0, xmm, 0x9FC0);
  }

  /** Without the capability, the methods refuse rather than pretend. */
  @Test
  void withoutTheCapabilityFpuAccessIsRefused() {
    org.junit.jupiter.api.Assumptions.assumeFalse(
        hypervisor().has(dev.glint.hv.Capability.FPU_STATE), "the backend has FPU_STATE");
    try (TestGuest guest = longModeGuest()) {
      org.junit.jupiter.api.Assertions.assertThrows(
          dev.glint.hv.MissingCapabilityException.class, guest.vcpu::fpuState);
      org.junit.jupiter.api.Assertions.assertThrows(
          dev.glint.hv.MissingCapabilityException.class,
          () -> guest.vcpu.setFpuState(FpuState.initial()));
    }
  }

  @Test
  void fpuStateRoundTripsThroughTheVcpu() {
    requires(dev.glint.hv.Capability.FPU_STATE);
    try (TestGuest guest = longModeGuest()) {
      FpuState state = sample();
      guest.vcpu.setFpuState(state);
      FpuState read = guest.vcpu.fpuState();
      assertEquals(state.fcw(), read.fcw(), "FCW");
      assertEquals(state.mxcsr(), read.mxcsr(), "MXCSR");
      assertEquals(state.ftw(), read.ftw(), "abridged tag word");
      assertArrayEquals(state.xmm(), read.xmm(), "XMM0..15");
      assertArrayEquals(state.x87(), read.x87(), "ST0..7");
      assertEquals(state, read, "the whole state");
      guest.vcpu.setFpuState(FpuState.initial());
      assertEquals(FpuState.initial(), guest.vcpu.fpuState(), "back to the reset state");
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(TestGuest.Privilege.class)
  void theGuestSeesTheXmmRegistersTheHostSetAndTheHostSeesTheGuestsWrites(
      TestGuest.Privilege privilege) {
    requires(privilege);
    requires(dev.glint.hv.Capability.FPU_STATE);
    try (TestGuest guest = longModeGuest()) {
      guest.start(
          privilege, GuestPrograms.XMM_EXCHANGE, r -> r.with(Register.RBX, 0x0123_4567_89AB_CDEFL));
      guest.vcpu.setFpuState(FpuState.initial().withXmmRegister(0, 0x5EED_F00DL, 0x77L));
      guest.runToDone();
      assertEquals(0x5EED_F00DL, guest.vcpu.registers().rax(), "XMM0 as the guest read it");
      long[] xmm1 = guest.vcpu.fpuState().xmmRegister(1);
      assertEquals(0x0123_4567_89AB_CDEFL, xmm1[0], "XMM1 low, written by the guest");
      assertEquals(0, xmm1[1], "XMM1 high, zeroed by movq");
      assertEquals(0x77L, guest.vcpu.fpuState().xmmRegister(0)[1], "XMM0 high, kept");
    }
  }
}
