package dev.glint.hv.emulated;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.glint.x86.decoder.InstructionTable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** docs/emulated-backend.md shows exactly the decoder's instruction table. */
class InstructionTableDocTest {
  private static final String BEGIN = "<!-- instruction-table:begin -->\n";
  private static final String END = "<!-- instruction-table:end -->";

  @Test
  void theDocumentationShowsTheCurrentTable() throws IOException {
    String doc = Files.readString(Path.of("../docs/emulated-backend.md"));
    int begin = doc.indexOf(BEGIN);
    int end = doc.indexOf(END);
    String shown = doc.substring(begin + BEGIN.length(), end);
    assertEquals(
        InstructionTable.markdown(),
        shown,
        "docs/emulated-backend.md is stale: replace the table between the markers with"
            + " InstructionTable.markdown()");
  }
}
