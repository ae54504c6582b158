package dev.glint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code glint serve} in a process of its own, as a user runs it: it serves, and on SIGTERM it
 * drains and frees every micro-VM; where no hypervisor opens it says what is missing and exits 1.
 */
class ServeCommandTest {
  @TempDir static Path folder;
  private static Path errors;

  @BeforeAll
  static void errorFile() {
    errors = folder.resolve("stderr.txt");
  }

  @Test
  void servesUntilSigtermThenShutsDownGracefully() throws Exception {
    Cli.requireKvm();
    Process process = glint(List.of(), "serve", "--port", "0", "--pool-size", "2");
    // Standard output carries the banner and the shutdown report; the log goes to standard error.
    try (BufferedReader out =
            new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        HttpClient client = HttpClient.newHttpClient()) {
      String banner = out.readLine();
      assertTrue(
          banner != null && banner.startsWith("Glint demo listening on http://127.0.0.1:"), banner);
      assertTrue(banner.contains("backend kvm"), banner);
      Matcher port = Pattern.compile("http://127\\.0\\.0\\.1:(\\d+) ").matcher(banner);
      assertTrue(port.find(), banner);
      URI base = URI.create("http://127.0.0.1:" + port.group(1));
      List<String> lines = new ArrayList<>();
      String line;
      while ((line = out.readLine()) != null && !line.startsWith("Stop it with")) {
        lines.add(line);
      }
      assertTrue(
          lines.contains(
              "  GET "
                  + base
                  + "/hyperlight/hello-world/warm  (a warm micro-VM from the pool, restored after the call)"),
          lines::toString);

      HttpResponse<String> warm =
          client.send(
              HttpRequest.newBuilder(base.resolve("/hyperlight/hello-world/warm")).build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(200, warm.statusCode());
      assertEquals("Hello, World!\n", warm.body());

      // SIGTERM, through the handle: Process.destroy() would also close the streams still read.
      assertTrue(process.toHandle().destroy());
      String rest = out.lines().collect(java.util.stream.Collectors.joining("\n"));
      assertTrue(process.waitFor(30, TimeUnit.SECONDS), "no exit within 30 s of SIGTERM");
      assertEquals(143, process.exitValue(), rest); // 128 + SIGTERM, after the shutdown hook
      assertTrue(
          rest.contains("glint serve: shutting down (no new connections; draining requests)"),
          rest);
      assertTrue(
          rest.matches(
              "(?s).*glint serve: shut down in \\d+ ms: \\d+ requests served, 0 cut off, 0 micro-VMs alive \\(every micro-VM freed\\).*"),
          rest);
    } finally {
      process.destroyForcibly();
    }
  }

  @Test
  void withoutAHypervisorItServesOnTheEmulatedBackendAndSaysSo() throws Exception {
    Process process =
        glint(List.of("-Dglint.hv.kvm.disable=true"), "serve", "--port", "0", "--pool-size", "1");
    try (BufferedReader out =
            new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        HttpClient client = HttpClient.newHttpClient()) {
      String banner = out.readLine();
      assertTrue(banner != null && banner.contains("backend emulated"), banner);
      Matcher port = Pattern.compile("http://127\\.0\\.0\\.1:(\\d+) ").matcher(banner);
      assertTrue(port.find(), banner);
      URI base = URI.create("http://127.0.0.1:" + port.group(1));
      HttpResponse<String> warm =
          client.send(
              HttpRequest.newBuilder(base.resolve("/hyperlight/hello-world/warm")).build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(200, warm.statusCode());
      assertEquals("Hello, World!\n", warm.body());
      String log = Files.readString(errors);
      assertTrue(
          log.contains(
              "no hypervisor opens here (kvm: disabled by -Dglint.hv.kvm.disable=true); running on"
                  + " the 'emulated' backend"),
          log);
      assertTrue(process.toHandle().destroy());
      assertTrue(process.waitFor(30, TimeUnit.SECONDS), "no exit within 30 s of SIGTERM");
      assertEquals(143, process.exitValue());
    } finally {
      process.destroyForcibly();
    }
  }

  @Test
  void withNoBackendAtAllItSaysWhatIsMissingAndExitsOne() throws Exception {
    Process process =
        glint(
            List.of("-Dglint.hv.kvm.disable=true", "-Dglint.hv.emulated.disable=true"),
            "serve",
            "--port",
            "0");
    assertTrue(process.waitFor(30, TimeUnit.SECONDS));
    String out = Files.readString(errors);
    assertEquals(1, process.exitValue(), out);
    assertEquals("", new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    assertTrue(out.contains("glint serve: no hypervisor backend can be opened here:"), out);
    assertTrue(out.contains("  kvm: disabled by -Dglint.hv.kvm.disable=true"), out);
    assertTrue(
        out.contains(
            "  emulated: the emulated backend is switched off by -Dglint.hv.emulated.disable=true"),
        out);
    assertTrue(out.contains("or its emulated backend, which runs anywhere"), out);
    assertTrue(!out.contains("Exception"), "a message, not a stack trace: " + out);
  }

  /** Starts {@code glint args} in a new JVM on this test's class path; standard error to a file. */
  private static Process glint(List<String> jvmOptions, String... args) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("--enable-native-access=ALL-UNNAMED");
    command.addAll(jvmOptions);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(GlintCli.class.getName());
    command.addAll(List.of(args));
    return new ProcessBuilder(command).redirectError(errors.toFile()).start();
  }
}
