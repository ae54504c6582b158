package dev.glint.hv.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.glint.hv.Availability;
import dev.glint.hv.HypervisorException;
import dev.glint.hv.spi.HypervisorProvider;
import dev.glint.hv.spi.Hypervisors;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The probe's reasons, each seen in a fresh JVM started with the flags that cause it (the probe
 * caches its answer per process).
 */
class KvmProbeTest {

  static String probeIn(String... jvmFlags) throws IOException, InterruptedException {
    return probeIn(Map.of(), jvmFlags);
  }

  static String probeIn(Map<String, String> environment, String... jvmFlags)
      throws IOException, InterruptedException {
    return runIn(ProbeMain.class, environment, jvmFlags);
  }

  static String runIn(Class<?> main, Map<String, String> environment, String... jvmFlags)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(List.of(jvmFlags));
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().putAll(environment);
    Process process = builder.start();
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
  void aLibraryThatCannotBeLoadedIsAReason() throws Exception {
    String output =
        probeIn("--enable-native-access=ALL-UNNAMED", "-Dglint.hv.kvm.libc=/nonexistent/libc.so");
    assertTrue(output.contains("available=false"), output);
    assertTrue(output.contains("cannot load -Dglint.hv.kvm.libc=/nonexistent/libc.so"), output);
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

  /**
   * A test double of glibc's {@code open} and {@code ioctl}, loaded through {@code
   * -Dglint.hv.kvm.libc}: {@code GLINT_FAKE} picks the failure, everything else goes to glibc.
   */
  static final String DOUBLE =
      """
      #define _GNU_SOURCE
      #include <dlfcn.h>
      #include <errno.h>
      #include <stdarg.h>
      #include <stdlib.h>
      #include <string.h>
      #include <linux/kvm.h>

      static const char *fake(void) { const char *f = getenv("GLINT_FAKE"); return f ? f : ""; }

      int open(const char *path, int flags, ...) {
        va_list ap; va_start(ap, flags); int mode = va_arg(ap, int); va_end(ap);
        if (!strcmp(fake(), "enoent")) { errno = ENOENT; return -1; }
        if (!strcmp(fake(), "eacces")) { errno = EACCES; return -1; }
        int (*real)(const char *, int, ...) = dlsym(RTLD_NEXT, "open");
        return real(path, flags, mode);
      }

      int ioctl(int fd, unsigned long request, ...) {
        va_list ap; va_start(ap, request); void *arg = va_arg(ap, void *); va_end(ap);
        if (request == KVM_GET_API_VERSION && !strcmp(fake(), "api11")) return 11;
        if (request == KVM_SET_USER_MEMORY_REGION && !strcmp(fake(), "failslot")) {
          errno = EEXIST; return -1;
        }
        if (request == KVM_SET_CPUID2 && !strcmp(fake(), "failcpuid")) { errno = E2BIG; return -1; }
        if (request == KVM_CHECK_EXTENSION && (long) arg == KVM_CAP_USER_MEMORY
            && !strcmp(fake(), "nousermem")) return 0;
        int (*real)(int, unsigned long, ...) = dlsym(RTLD_NEXT, "ioctl");
        return real(fd, request, arg);
      }
      """;

  static String[] doubleFlags(Path dir) throws Exception {
    assumeTrue(
        KvmLayoutTest.onPath("gcc"), "gcc is not on the PATH; cannot build the glibc double");
    Path source = dir.resolve("double.c");
    Path library = dir.resolve("libglintdouble.so");
    Files.writeString(source, DOUBLE);
    KvmLayoutTest.run(
        List.of("gcc", "-shared", "-fPIC", "-o", library.toString(), source.toString(), "-ldl"));
    return new String[] {"--enable-native-access=ALL-UNNAMED", "-Dglint.hv.kvm.libc=" + library};
  }

  @Test
  void failedCallsNameTheCallAndLeakNothing(@TempDir Path dir) throws Exception {
    assumeTrue(Files.isWritable(Path.of("/dev/kvm")), "/dev/kvm is not accessible");
    String[] flags = doubleFlags(dir);
    String slot = runIn(FailureMain.class, Map.of("GLINT_FAKE", "failslot"), flags);
    assertTrue(
        slot.contains(
            "map=kvm: KVM_SET_USER_MEMORY_REGION failed (EEXIST, code 17): kvm partition 'fail':"
                + " slot 0, GPA 0x100000, size 0x10000"),
        slot);
    assertTrue(slot.contains("vcpu=ok"), slot);
    String cpuid = runIn(FailureMain.class, Map.of("GLINT_FAKE", "failcpuid"), flags);
    assertTrue(cpuid.contains("map=ok"), cpuid);
    assertTrue(cpuid.contains("vcpu=kvm: KVM_SET_CPUID2 failed (E2BIG, code 7)"), cpuid);
    for (String output : List.of(slot, cpuid)) {
      String fds = output.lines().filter(l -> l.startsWith("fds=")).findFirst().orElseThrow();
      String[] counts = fds.substring(4).split(",");
      assertEquals(counts[0], counts[1], "open fds before and after 20 failing partitions");
    }
  }

  @Test
  void reasonsForABrokenKvmNameTheFix(@TempDir Path dir) throws Exception {
    String[] flags = doubleFlags(dir);
    Map<String, String> expected =
        Map.of(
            "enoent", "reason=no /dev/kvm: load the kvm module or enable virtualization",
            "eacces", "reason=/dev/kvm: permission denied",
            "api11", "reason=KVM API version 11 on /dev/kvm; Glint needs 12",
            "nousermem", "reason=KVM here lacks KVM_CAP_USER_MEMORY");
    for (Map.Entry<String, String> fake : expected.entrySet()) {
      String output = probeIn(Map.of("GLINT_FAKE", fake.getKey()), flags);
      assertTrue(output.contains("available=false"), output);
      assertTrue(output.contains(fake.getValue()), fake.getKey() + ":\n" + output);
      if (fake.getKey().equals("eacces")) {
        assertTrue(output.contains("add your user to group"), output);
      }
    }
    // Without a fake, the double passes through and KVM works.
    if (Files.isWritable(Path.of("/dev/kvm"))) {
      assertTrue(probeIn(Map.of(), flags).contains("available=true"));
    }
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
