package dev.glint.hv.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.glint.hv.Availability;
import dev.glint.hv.HypervisorException;
import dev.glint.hv.Hypervisors;
import dev.glint.hv.spi.HypervisorProvider;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The probe's reasons, each seen in a fresh JVM started with the flags that cause it (the probe
 * caches its answer per process).
 */
class KvmProbeTest {

  static String probeIn(String... jvmFlags) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(List.of(jvmFlags));
    command.addAll(
        List.of("-cp", System.getProperty("java.class.path"), ProbeMain.class.getName()));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(60, TimeUnit.SECONDS), "probe JVM timed out");
    assertEquals(0, process.exitValue(), () -> "probe JVM failed:\n" + output);
    return output;
  }

  @Test
  void withoutNativeAccessTheReasonNamesTheFlag() throws Exception {
    String output = probeIn();
    assertTrue(output.contains("available=false"), output);
    assertTrue(output.contains("--enable-native-access=ALL-UNNAMED"), output);
    assertTrue(
        !output.contains("WARNING: A restricted method"),
        "the probe must not trip the warning:\n" + output);
  }

  @Test
  void killSwitch() throws Exception {
    String output = probeIn("--enable-native-access=ALL-UNNAMED", "-Dglint.hv.kvm.disable=true");
    assertTrue(output.contains("available=false"), output);
    assertTrue(output.contains("reason=disabled by -Dglint.hv.kvm.disable=true"), output);
  }

  @Test
  void aSignalThatIsNotRealTimeLeavesNoCancelAndSaysWhy() throws Exception {
    assumeTrue(Files.isWritable(Path.of("/dev/kvm")), "/dev/kvm is not accessible");
    String output = probeIn("--enable-native-access=ALL-UNNAMED", "-Dglint.hv.kvm.signal=10");
    assertTrue(output.contains("available=true"), output);
    String capabilities =
        output.lines().filter(l -> l.startsWith("capabilities=")).findFirst().orElseThrow();
    assertTrue(!capabilities.contains("CANCEL"), output);
    assertTrue(output.contains("interrupter=") && output.contains("glint.hv.kvm.signal"), output);
  }

  @Test
  void inThisJvmTheProbeIsCachedAndOpenNeedsAvailability() {
    HypervisorProvider provider = Hypervisors.provider("kvm").orElseThrow();
    assertEquals(100, provider.priority());
    assertTrue(provider.probe() == provider.probe(), "the answer is cached");
    System.setProperty("glint.hv.kvm.disable", "true");
    try {
      Availability off = provider.probe();
      assertTrue(
          off instanceof Availability.Unavailable u && u.reason().contains("disable"),
          off::toString);
      HypervisorException e =
          org.junit.jupiter.api.Assertions.assertThrows(HypervisorException.class, provider::open);
      assertEquals("kvm", e.backend());
      assertTrue(e.getMessage().contains("disable"), e.getMessage());
    } finally {
      System.clearProperty("glint.hv.kvm.disable");
    }
  }
}
