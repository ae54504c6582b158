package dev.glint.differential;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The known-mismatches file format. */
class KnownMismatchesTest {

  @Test
  void casesAndCategoriesAreReadWithTheirReasons() {
    KnownMismatches known =
        KnownMismatches.parse(
            List.of(
                "# a comment",
                "",
                "seed 0x2a case 7 | a reason",
                "category: some kind | another reason"));
    assertEquals(Map.of("seed 0x2a case 7", "a reason"), known.reasons());
    assertEquals(Map.of("some kind", "another reason"), known.categories());
    assertEquals(Optional.of("a reason"), known.reason("seed 0x2a case 7"));
    assertEquals(Optional.empty(), known.reason("seed 0x2a case 8"));
  }

  @Test
  void anEntryWithoutAReasonIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> KnownMismatches.parse(List.of("case 1")));
    assertThrows(
        IllegalArgumentException.class, () -> KnownMismatches.parse(List.of("case 1 |  ")));
  }

  @Test
  void theShippedFileParses() throws Exception {
    KnownMismatches known = FixedSeedDifferentialTest.knownMismatches();
    assertEquals(4, known.categories().size(), known.categories().toString());
  }
}
