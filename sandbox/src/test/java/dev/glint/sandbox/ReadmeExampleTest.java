package dev.glint.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.glint.guest.SampleGuests;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Runs the README's example exactly as printed there (the nested class below). */
@Timeout(60)
class ReadmeExampleTest {

  // --- README example: begin (keep in sync with README.md) ---
  public static class HelloGlint {
    public static void main(String[] args) {
      StringBuilder output = new StringBuilder();
      try (Sandbox sandbox =
          Sandbox.builder()
              .guest(SampleGuests.load("hello")) // or .guest(Path.of("hello.elf"))
              .printTo(output::append) // HostPrint's sink; System.out by default
              .build()) {
        int written = sandbox.call("PrintOutput", ValueType.I32, "Hello, Glint!");
        System.out.println("guest printed '" + output + "' (" + written + " bytes)");
      }
    }
  }

  // --- README example: end ---

  @Test
  void theReadmeShowsExactlyThisProgram() throws java.io.IOException {
    // Surefire runs in the module folder; the README is the repository's.
    String readme = java.nio.file.Files.readString(java.nio.file.Path.of("../README.md"));
    String test =
        java.nio.file.Files.readString(
            java.nio.file.Path.of("src/test/java/dev/glint/sandbox/ReadmeExampleTest.java"));
    String tested =
        test.substring(
            test.indexOf("public static class HelloGlint"),
            test.indexOf("// --- README example: end ---"));
    String shown =
        readme.substring(
            readme.indexOf("public class HelloGlint"),
            readme.indexOf("```", readme.indexOf("public class HelloGlint")));
    assertEquals(
        tokens(shown.replace("public class", "public static class")),
        tokens(tested),
        "README.md's HelloGlint differs from the one this test runs");
  }

  /** The code without indentation or line breaks, which differ between the two places. */
  private static String tokens(String code) {
    return code.strip().replaceAll("\\s+", " ");
  }

  @Test
  void theReadmeExampleRunsAndPrints() {
    TestSandboxes.requireBackend();
    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      HelloGlint.main(new String[0]);
    } finally {
      System.setOut(original);
    }
    assertEquals(
        "guest printed 'Hello, Glint!' (13 bytes)" + System.lineSeparator(),
        captured.toString(StandardCharsets.UTF_8));
  }
}
