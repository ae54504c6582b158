package dev.glint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Help, version and usage errors: what a shell user expects, with picocli's exit codes. */
class GlintCliTest {

  @Test
  void versionNamesGlintTheJvmAndTheOs() {
    Cli.Outcome outcome = Cli.run("--version");
    assertEquals(0, outcome.code(), outcome::toString);
    assertTrue(
        outcome.out().matches("(?s)glint \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?\n.*"), outcome::toString);
    assertTrue(outcome.out().contains("JVM: " + Runtime.version()), outcome::toString);
    assertTrue(outcome.out().contains("OS: "), outcome::toString);
  }

  @Test
  void helpListsEveryCommandAndTheExitCodes() {
    Cli.Outcome outcome = Cli.run("--help");
    assertEquals(0, outcome.code(), outcome::toString);
    for (String command :
        new String[] {"backends", "run", "bench", "conformance", "serve", "help"}) {
      assertTrue(outcome.out().contains("\n  " + command + " "), command + " missing: " + outcome);
    }
    assertTrue(outcome.out().contains("2 usage"), outcome::toString);
    assertEquals("", outcome.err());
  }

  @Test
  void eachCommandHasHelp() {
    for (String command : new String[] {"backends", "run", "bench", "conformance", "serve"}) {
      Cli.Outcome outcome = Cli.run(command, "--help");
      assertEquals(0, outcome.code(), outcome::toString);
      assertTrue(outcome.out().startsWith("Usage: glint " + command), outcome::toString);
      Cli.Outcome viaHelp = Cli.run("help", command);
      assertEquals(outcome.out(), viaHelp.out());
    }
  }

  @Test
  void noCommandIsAUsageError() {
    Cli.Outcome outcome = Cli.run();
    assertEquals(2, outcome.code(), outcome::toString);
    assertTrue(outcome.err().contains("a command is missing"), outcome::toString);
    assertTrue(outcome.err().contains("Usage: glint"), outcome::toString);
    assertEquals("", outcome.out());
  }

  @Test
  void anUnknownCommandIsAUsageErrorNamingTheCommands() {
    Cli.Outcome outcome = Cli.run("frobnicate");
    assertEquals(2, outcome.code(), outcome::toString);
    assertTrue(
        outcome
            .err()
            .contains("glint: unknown command 'frobnicate'; the commands are backends, run"),
        outcome::toString);
    assertTrue(outcome.err().contains("Try 'glint --help'"), outcome::toString);
  }

  @Test
  void anUnknownOptionIsAUsageError() {
    Cli.Outcome outcome = Cli.run("bench", "--frobnicate");
    assertEquals(2, outcome.code(), outcome::toString);
    assertTrue(
        outcome.err().contains("glint bench: Unknown option: '--frobnicate'"), outcome::toString);
    assertTrue(outcome.err().contains("Try 'glint bench --help'"), outcome::toString);
  }

  @Test
  void badOptionValuesAreUsageErrors() {
    Cli.Outcome level = Cli.run("run", "--level", "supervisor", "hello");
    assertEquals(2, level.code(), level::toString);
    assertTrue(level.err().contains("supervisor"), level::toString);

    Cli.Outcome timeout = Cli.run("run", "--timeout", "soon", "hello");
    assertEquals(2, timeout.code(), timeout::toString);
    assertTrue(timeout.err().contains("write it as 500ms, 2s"), timeout::toString);

    Cli.Outcome port = Cli.run("serve", "--port", "70000");
    assertEquals(2, port.code(), port::toString);
    assertTrue(port.err().contains("0 to 65535"), port::toString);
  }

  @Test
  void anUnknownBackendIsAUsageErrorListingTheBackends() {
    Cli.Outcome outcome = Cli.run("run", "--backend", "nonesuch", "hello", "PrintOutput", "x");
    assertEquals(2, outcome.code(), outcome::toString);
    assertTrue(outcome.err().contains("no backend named 'nonesuch'; found: "), outcome::toString);
    assertTrue(outcome.err().contains(UnavailableTestProvider.NAME), outcome::toString);
  }

  @Test
  void anUnavailableBackendIsAFailureWithItsReason() {
    Cli.Outcome outcome =
        Cli.run("run", "--backend", UnavailableTestProvider.NAME, "hello", "PrintOutput", "x");
    assertEquals(1, outcome.code(), outcome::toString);
    assertTrue(outcome.err().contains(UnavailableTestProvider.REASON), outcome::toString);
    assertTrue(
        outcome.err().contains("or its emulated backend, which runs anywhere"), outcome::toString);
  }
}
