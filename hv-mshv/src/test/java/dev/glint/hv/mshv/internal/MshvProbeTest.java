package dev.glint.hv.mshv.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.hv.Availability;
import dev.glint.hv.mshv.internal.sys.Errno;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The probe's reasons, each with its fix: a missing device, a device that is not mshv (the wrong
 * API), a permission problem, and the kill switch. The device path is the only thing changed, so
 * each probe does the real thing (open, MSHV_CREATE_PARTITION) against that path.
 */
class MshvProbeTest {

  @Test
  void aMissingDeviceSaysWhatIsMissing(@TempDir Path dir) {
    String device = dir.resolve("mshv").toString();
    Availability availability = MshvProbe.computeSafely(device).availability();
    Availability.Unavailable unavailable =
        assertInstanceOf(Availability.Unavailable.class, availability);
    assertTrue(unavailable.reason().startsWith("no " + device), unavailable.reason());
    assertTrue(unavailable.reason().contains("Linux 6.15"), unavailable.reason());
  }

  @Test
  void aDeviceThatIsNotMshvIsTheWrongApi() {
    // /dev/null opens but answers every ioctl with ENOTTY, as a pre-6.15 driver answers ours.
    Availability availability = MshvProbe.computeSafely("/dev/null").availability();
    Availability.Unavailable unavailable =
        assertInstanceOf(Availability.Unavailable.class, availability);
    assertTrue(
        unavailable.reason().contains("does not speak the Linux 6.15 mshv API")
            && unavailable.reason().contains("MSHV_CREATE_PARTITION failed with ENOTTY"),
        unavailable.reason());
  }

  @Test
  void permissionProblemsNameTheFix() {
    String reason = MshvProbe.openFailure("/dev/null", Errno.EACCES);
    assertTrue(reason.contains("permission denied"), reason);
    assertTrue(reason.contains("udev rule") && reason.contains("root"), reason);
    String refused = MshvProbe.apiFailure("/dev/mshv", "MSHV_CREATE_PARTITION", Errno.EPERM);
    assertTrue(refused.contains("CAP_SYS_ADMIN"), refused);
  }

  @Test
  void theKillSwitchDisablesTheBackend() {
    System.setProperty(MshvProbe.DISABLE_PROPERTY, "true");
    try {
      Availability availability = MshvProbe.result().availability();
      assertFalse(availability.isAvailable());
      assertTrue(
          ((Availability.Unavailable) availability).reason().contains(MshvProbe.DISABLE_PROPERTY));
    } finally {
      System.clearProperty(MshvProbe.DISABLE_PROPERTY);
    }
  }

  @Test
  void theDoubleAnswersTheProbeLikeADevice() {
    // Through the ABI double (-Dglint.hv.mshv.libc) /dev/mshv opens wherever /dev/kvm does.
    org.junit.jupiter.api.Assumptions.assumeFalse(
        System.getProperty("glint.hv.mshv.libc", "").isBlank(), "the ABI double is not loaded");
    Availability availability = MshvProbe.computeSafely(MshvProbe.DEFAULT_DEVICE).availability();
    assertTrue(
        availability.isAvailable() || !dev.glint.hv.mshv.MshvDoubleRequirement.kvmOpens(),
        availability::toString);
  }
}
