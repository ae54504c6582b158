package dev.glint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@code glint backends}: every provider found, available or not. */
class BackendsCommandTest {

  @Test
  void listsUnavailableBackendsWithTheirReason() {
    Cli.Outcome outcome = Cli.run("backends");
    assertTrue(
        outcome
            .out()
            .contains(
                UnavailableTestProvider.NAME
                    + ": unavailable (priority -10)\n  reason: "
                    + UnavailableTestProvider.REASON),
        outcome::toString);
    assertTrue(
        outcome.out().contains(BrokenTestProvider.NAME + ": unavailable (priority -20)"),
        outcome::toString);
    // Exit 0 when one is available, 1 when none is.
    assertEquals(Cli.kvmAvailable() ? 0 : 1, outcome.code(), outcome::toString);
  }

  @Test
  void opensKvmToListItsCapabilities() {
    Cli.requireKvm();
    Cli.Outcome outcome = Cli.run("backends");
    assertEquals(0, outcome.code(), outcome::toString);
    String out = outcome.out();
    assertTrue(out.startsWith("kvm: available (priority 100)\n  KVM API 12"), outcome::toString);
    assertTrue(out.contains("  privileged execution: "), outcome::toString);
    // What every KVM the backend accepts provides, and what the SPI names.
    assertTrue(
        out.matches("(?s).*  capabilities: [A-Z_, ]*CANCEL[A-Z_, ]*\n.*"), outcome::toString);
    assertTrue(out.contains("  lacks: "), outcome::toString);
    assertTrue(out.contains("  largest guest memory: "), outcome::toString);
    assertTrue(out.contains("backends available; the default is 'kvm'"), outcome::toString);
  }
}
