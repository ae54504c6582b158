package dev.glint.hv.whp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.glint.hv.Availability;
import dev.glint.hv.Capability;
import dev.glint.hv.HypervisorException;
import dev.glint.hv.spi.HypervisorProvider;
import dev.glint.hv.spi.Hypervisors;
import dev.glint.hv.whp.internal.sys.WinHvPlatform;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The provider as users find it, and the reasons the library loader gives. */
class WhpProbeTest {

  private static HypervisorProvider whp() {
    return Hypervisors.provider("whp").orElseThrow();
  }

  @Test
  void providerIsFoundByNameWithTheHardwareTierPriority() {
    assertEquals(90, whp().priority());
  }

  @Test
  void throughTheDoubleTheBackendIsAvailableAndClaimsOnlyWhatItDoes() {
    assumeTrue(WhpTestHost.kvmOpens(), "/dev/kvm does not open here; the double cannot run");
    Availability availability = whp().probe();
    assertTrue(availability.isAvailable(), () -> "unavailable: " + availability);
    Availability.Available available = (Availability.Available) availability;
    assertTrue(available.description().contains("through"), available.description());
    assertFalse(available.capabilities().contains(Capability.EXECUTE_PROTECTION));
    assertFalse(available.capabilities().contains(Capability.COPY_ON_WRITE_IMAGES));
    assertTrue(available.capabilities().contains(Capability.CANCEL));
    assertTrue(available.capabilities().contains(Capability.READ_ONLY_MEMORY));
  }

  @Test
  void aMissingLibraryIsAReasonNamingThePropertyAndTheFile() {
    WinHvPlatform.LoadException e =
        assertThrows(
            WinHvPlatform.LoadException.class, () -> WinHvPlatform.load("/no/such/libwhp.so"));
    assertTrue(e.getMessage().contains("glint.hv.whp.library"), e.getMessage());
    assertTrue(e.getMessage().contains("/no/such/libwhp.so"), e.getMessage());
  }

  @Test
  void aLibraryWithoutTheWhpFunctionsIsRefusedNamingTheMissingOne() throws Exception {
    Path libc = Path.of("/lib/x86_64-linux-gnu/libc.so.6");
    assumeTrue(Files.isRegularFile(libc), "no glibc at " + libc);
    WinHvPlatform.LoadException e =
        assertThrows(WinHvPlatform.LoadException.class, () -> WinHvPlatform.load(libc.toString()));
    assertTrue(e.getMessage().contains("does not export WHvGetCapability"), e.getMessage());
  }

  @Test
  void onLinuxWithoutALibraryTheReasonSaysWindowsAndHowToNameADouble() throws Exception {
    assumeTrue(System.getProperty("os.name").startsWith("Linux"), "Linux only");
    Process process =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED",
                "-cp",
                System.getProperty("java.class.path"),
                ProbeMain.class.getName())
            .redirectErrorStream(true)
            .start();
    String output = new String(process.getInputStream().readAllBytes());
    assertEquals(0, process.waitFor(), output);
    assertTrue(output.contains("exists only on Windows"), output);
    assertTrue(output.contains("-Dglint.hv.whp.library"), output);
  }

  @Test
  void openingWhenDisabledThrowsWithTheReason() throws Exception {
    Process process =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED",
                "-Dglint.hv.whp.disable=true",
                "-cp",
                System.getProperty("java.class.path"),
                ProbeMain.class.getName(),
                "open")
            .redirectErrorStream(true)
            .start();
    String output = new String(process.getInputStream().readAllBytes());
    assertEquals(0, process.waitFor(), output);
    assertTrue(output.contains(HypervisorException.class.getSimpleName()), output);
    assertTrue(output.contains("disabled by -Dglint.hv.whp.disable=true"), output);
  }
}
