package dev.glint.differential;

import dev.glint.differential.internal.Disassembler;
import dev.glint.differential.internal.Flags;
import dev.glint.differential.internal.GuestLayout;
import dev.glint.hv.Register;
import dev.glint.hv.Registers;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * A case on which two backends disagree: the case, both outcomes, and the differences. An immutable
 * value; {@link #report()} prints it as a reproducible case.
 *
 * @param testCase the case
 * @param referenceName the reference backend's name (usually "kvm")
 * @param reference what the reference ended with
 * @param candidateName the backend under test's name (usually "emulated")
 * @param candidate what the backend under test ended with
 * @param differences one line per difference, such as "rax: 0x1 vs 0x2"
 */
public record Mismatch(
    TestCase testCase,
    String referenceName,
    Outcome reference,
    String candidateName,
    Outcome candidate,
    List<String> differences) {

  /** Copies. */
  public Mismatch {
    differences = List.copyOf(differences);
  }

  private static final int MAX_MEMORY_LINES = 16;

  /**
   * Compares two outcomes of {@code testCase}: the events, the general registers and RIP, the
   * RFLAGS bits in {@link TestCase#comparedFlags()}, the XMM registers and MXCSR when the case uses
   * SSE, and the compared memory.
   *
   * @return the mismatch, or empty if they agree
   */
  public static Optional<Mismatch> compare(
      TestCase testCase,
      String referenceName,
      Outcome reference,
      String candidateName,
      Outcome candidate) {
    List<String> differences = new ArrayList<>();
    if (!reference.events().equals(candidate.events())) {
      differences.add("events: %s vs %s".formatted(reference.events(), candidate.events()));
    }
    Registers a = reference.registers();
    Registers b = candidate.registers();
    for (Register register : Register.values()) {
      long x = a.get(register);
      long y = b.get(register);
      if (register == Register.RFLAGS) {
        long mask = testCase.comparedFlags();
        if (((x ^ y) & mask) != 0) {
          differences.add(
              "rflags: 0x%x vs 0x%x (differ in %s; compared: %s)"
                  .formatted(x, y, Flags.names((x ^ y) & mask), Flags.names(mask)));
        }
      } else if (x != y) {
        differences.add(
            "%s: 0x%x vs 0x%x".formatted(register.name().toLowerCase(java.util.Locale.ROOT), x, y));
      }
    }
    if (testCase.sse()) {
      byte[] xa = reference.xmm();
      byte[] xb = candidate.xmm();
      for (int n = 0; n < 16; n++) {
        if (xa.length == 256
            && xb.length == 256
            && !Arrays.equals(xa, n * 16, n * 16 + 16, xb, n * 16, n * 16 + 16)) {
          differences.add("xmm%d: %s vs %s".formatted(n, reference.xmmHex(n), candidate.xmmHex(n)));
        }
      }
      if (xa.length == 256 && xb.length == 256 && reference.mxcsr() != candidate.mxcsr()) {
        differences.add("mxcsr: 0x%x vs 0x%x".formatted(reference.mxcsr(), candidate.mxcsr()));
      }
    }
    byte[] ma = reference.memory();
    byte[] mb = candidate.memory();
    if (ma.length != mb.length) {
      differences.add("memory: %d vs %d bytes read".formatted(ma.length, mb.length));
    } else {
      int lines = 0;
      for (int at = 0; at < ma.length; at += 8) {
        if (!Arrays.equals(ma, at, at + 8, mb, at, at + 8)) {
          if (lines++ < MAX_MEMORY_LINES) {
            differences.add(
                "memory 0x%x: %s vs %s"
                    .formatted(
                        GuestLayout.COMPARED_START + at,
                        HexFormat.ofDelimiter(" ").formatHex(ma, at, at + 8),
                        HexFormat.ofDelimiter(" ").formatHex(mb, at, at + 8)));
          }
        }
      }
      if (lines > MAX_MEMORY_LINES) {
        differences.add("memory: %d more differing quadwords".formatted(lines - MAX_MEMORY_LINES));
      }
    }
    return differences.isEmpty()
        ? Optional.empty()
        : Optional.of(
            new Mismatch(
                testCase, referenceName, reference, candidateName, candidate, differences));
  }

  /**
   * {@return the mismatch as a reproducible case}: the case's name and line, the bytes and their
   * disassembly (when objdump is installed), the start registers, both end states side by side, and
   * the differences
   */
  public String report() {
    StringBuilder out = new StringBuilder();
    out.append("MISMATCH ")
        .append(testCase.name())
        .append(": ")
        .append(referenceName)
        .append(" vs ")
        .append(candidateName)
        .append('\n');
    out.append("  reproduce: ").append(testCase.toLine()).append('\n');
    out.append("  code at 0x%x: %s%n".formatted(GuestLayout.CODE, testCase.codeHex()));
    if (!testCase.mnemonics().isEmpty()) {
      out.append("  generated: ").append(String.join(", ", testCase.mnemonics())).append('\n');
    }
    Disassembler.disassemble(testCase.code(), GuestLayout.CODE)
        .ifPresent(lines -> lines.forEach(line -> out.append("    ").append(line).append('\n')));
    out.append("  flags compared: %s%n".formatted(Flags.names(testCase.comparedFlags())));
    out.append("  %-8s %-20s %-20s %-20s%n".formatted("", "start", referenceName, candidateName));
    Registers start = testCase.registers();
    for (Register register : Register.values()) {
      long x = reference.registers().get(register);
      long y = candidate.registers().get(register);
      boolean differs =
          register == Register.RFLAGS ? ((x ^ y) & testCase.comparedFlags()) != 0 : x != y;
      out.append(
          "  %-8s %-20s %-20s %-20s%s%n"
              .formatted(
                  register.name().toLowerCase(java.util.Locale.ROOT),
                  "0x" + Long.toHexString(start.get(register)),
                  "0x" + Long.toHexString(x),
                  "0x" + Long.toHexString(y),
                  differs ? "  <<" : ""));
    }
    out.append("  events   %s: %s%n".formatted(referenceName, reference.events()));
    out.append("  events   %s: %s%n".formatted(candidateName, candidate.events()));
    out.append("  differences:\n");
    differences.forEach(d -> out.append("    ").append(d).append('\n'));
    return out.toString();
  }
}
