package dev.glint.differential;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.differential.internal.Flags;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The generator alone (no backend needed). */
class CaseGeneratorTest {
  private final CaseGenerator all = new CaseGenerator(m -> true, true, 8);

  @Test
  void aCaseDependsOnlyOnSeedAndIndex() {
    TestCase a = all.generate(42, 7);
    TestCase b = new CaseGenerator(m -> true, true, 8).generate(42, 7);
    assertEquals(a, b);
    assertNotEquals(a, all.generate(42, 8));
    assertNotEquals(a, all.generate(43, 7));
  }

  @Test
  void everyCaseEndsWithTheDonePortWrite() {
    for (int i = 0; i < 500; i++) {
      byte[] code = all.generate(1, i).code();
      assertEquals((byte) 0xE6, code[code.length - 2]);
      assertEquals((byte) 0x1F, code[code.length - 1]);
    }
  }

  @Test
  void onlyImplementedMnemonicsAreGenerated() {
    Set<String> allowed = Set.of("add", "sub", "mov", "out", "lea", "jcc", "setcc");
    CaseGenerator limited = new CaseGenerator(allowed::contains, true, 8);
    assertTrue(allowed.containsAll(limited.usedMnemonics()), limited.usedMnemonics().toString());
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 300; i++) {
      seen.addAll(limited.generate(3, i).mnemonics());
    }
    assertTrue(allowed.containsAll(seen), seen.toString());
    assertTrue(seen.containsAll(Set.of("add", "sub", "jcc")), seen.toString());
  }

  @Test
  void threeThousandCasesCoverTheTemplateGroups() {
    Set<String> seen = new HashSet<>();
    int sse = 0;
    for (int i = 0; i < 3000; i++) {
      TestCase c = all.generate(5, i);
      seen.addAll(c.mnemonics());
      sse += c.sse() ? 1 : 0;
    }
    for (String m :
        Set.of(
            "adc",
            "imul",
            "idiv",
            "shrd",
            "rcl",
            "btc",
            "bsr",
            "tzcnt",
            "cmovcc",
            "setcc",
            "xchg",
            "cmpxchg",
            "push",
            "pop",
            "movs",
            "scas",
            "jcc",
            "call",
            "ret",
            "in",
            "out",
            "ud2",
            "pxor",
            "paddq",
            "pshufd",
            "addsd",
            "cvttsd2si",
            "ucomisd",
            "cqo",
            "movsxd")) {
      assertTrue(seen.contains(m), "no " + m + " in 3000 cases");
    }
    assertTrue(sse > 600 && sse < 1400, "SSE cases: " + sse);
  }

  @Test
  void undefinedFlagsAreNotCompared() {
    // A case whose last flag-writing instruction is mul leaves SF, ZF, AF and PF undefined.
    CaseGenerator mulOnly = new CaseGenerator(Set.of("mul", "out")::contains, false, 1);
    int checked = 0;
    for (int i = 0; i < 40; i++) {
      TestCase c = mulOnly.generate(9, i);
      if (!c.mnemonics().equals(java.util.List.of("mul", "out"))) {
        continue; // an out to a denied port, which faults
      }
      checked++;
      assertEquals(Flags.CF | Flags.OF | Flags.DF, c.comparedFlags(), c.toLine());
    }
    assertTrue(checked > 10, "cases with mul: " + checked);
  }

  @Test
  void aCaseSurvivesItsPrintedLine() {
    for (int i = 0; i < 50; i++) {
      TestCase c = all.generate(11, i);
      TestCase parsed = TestCase.parse(c.toLine());
      assertEquals(c.toLine(), parsed.toLine());
    }
    assertThrows(IllegalArgumentException.class, () -> TestCase.parse("name | code=e61f"));
  }
}
