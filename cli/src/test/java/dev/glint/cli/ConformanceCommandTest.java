package dev.glint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code glint conformance}: the suite through the JUnit Platform launcher, and its report. */
class ConformanceCommandTest {

  @Test
  void listsTheSuitesGroups() {
    Cli.Outcome outcome = Cli.run("conformance", "--list-groups");
    assertEquals(0, outcome.code(), outcome::toString);
    for (String group :
        new String[] {"Arguments", "Concurrency", "ExecutionModes", "Memory", "UserMode"}) {
      assertTrue(outcome.out().contains(group + "\n"), outcome::toString);
    }
  }

  @Test
  void anUnknownGroupIsAUsageError() {
    Cli.requireKvm();
    Cli.Outcome outcome = Cli.run("conformance", "--backend", "kvm", "--group", "Memroy");
    assertEquals(2, outcome.code(), outcome::toString);
    assertTrue(
        outcome.err().contains("no group named [Memroy]; the suite's groups are [Arguments"),
        outcome::toString);
  }

  @Test
  void kvmPassesTheGroupsItRuns() {
    Cli.requireKvm();
    Cli.Outcome outcome = Cli.run("conformance", "--backend", "kvm", "--group", "Memory,Fpu");
    assertEquals(0, outcome.code(), outcome::toString);
    String out = outcome.out();
    assertTrue(out.startsWith("Conformance suite on backend 'kvm' (KVM API 12"), outcome::toString);
    assertTrue(out.matches("(?s).*\nMemory: \\d+ passed.*"), outcome::toString);
    assertTrue(out.matches("(?s).*\nFpu: .*"), outcome::toString);
    assertTrue(!out.contains("\nExecutionModes:"), "ran a group not asked for: " + out);
    Matcher summary = Pattern.compile("\n(\\d+) passed, (\\d+) skipped, 0 failed in ").matcher(out);
    assertTrue(summary.find(), outcome::toString);
    assertTrue(Integer.parseInt(summary.group(1)) >= 10, outcome::toString);
  }

  @Test
  void failuresAreReportedWithTheirMessagesAndExitOne() {
    System.setProperty(BrokenTestProvider.ENABLE, "true");
    try {
      Cli.Outcome outcome =
          Cli.run("conformance", "--backend", BrokenTestProvider.NAME, "--group", "PortIo,Memory");
      assertEquals(1, outcome.code(), outcome::toString);
      String out = outcome.out();
      assertTrue(out.startsWith("Conformance suite on backend 'fake-broken'"), outcome::toString);
      assertTrue(
          out.matches("(?s).*\nPortIo: (\\d+ skipped, )?\\d+ FAILED\n.*"), outcome::toString);
      assertTrue(out.contains("  FAILED   "), outcome::toString);
      assertTrue(out.contains("the fake backend cannot "), outcome::toString);
      // Tests needing capabilities the fake lacks are skipped and counted by capability.
      assertTrue(out.contains("Skipped for a capability the backend lacks: "), outcome::toString);
      Matcher summary = Pattern.compile("\n0 passed, \\d+ skipped, (\\d+) failed in ").matcher(out);
      assertTrue(summary.find(), outcome::toString);
      assertTrue(Integer.parseInt(summary.group(1)) > 0, outcome::toString);
    } finally {
      System.clearProperty(BrokenTestProvider.ENABLE);
    }
  }

  @Test
  void anUnavailableBackendIsAFailure() {
    Cli.Outcome outcome = Cli.run("conformance", "--backend", UnavailableTestProvider.NAME);
    assertEquals(1, outcome.code(), outcome::toString);
    assertTrue(outcome.err().contains(UnavailableTestProvider.REASON), outcome::toString);
  }
}
