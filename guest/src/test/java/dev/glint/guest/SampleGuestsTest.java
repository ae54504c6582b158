package dev.glint.guest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class SampleGuestsTest {

  @Test
  void everyGuestIsAStaticX8664Executable() {
    for (String name : SampleGuests.ALL) {
      byte[] elf = SampleGuests.load(name);
      assertTrue(elf.length > 64, name + " is too short: " + elf.length);
      assertArrayEquals(
          new byte[] {0x7F, 'E', 'L', 'F', 2, 1, 1}, java.util.Arrays.copyOf(elf, 7), name);
      ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
      assertEquals(2, b.getShort(16), name + ": e_type must be ET_EXEC");
      assertEquals(62, b.getShort(18), name + ": e_machine must be x86-64");
      assertEquals(0x200000L, b.getLong(24), name + ": entry must be _start at the image base");
    }
  }

  @Test
  void everySampleSourceIsListed() throws IOException {
    // Surefire runs in the module directory, next to samples/.
    Set<String> sources;
    try (Stream<Path> files = Files.list(Path.of("samples"))) {
      sources =
          files
              .map(p -> p.getFileName().toString())
              .filter(n -> n.endsWith(".c"))
              .map(n -> n.substring(0, n.length() - 2))
              .collect(Collectors.toSet());
    }
    assertEquals(sources, Set.copyOf(SampleGuests.ALL));
    assertTrue(SampleGuests.load("state").length > 64);
  }

  @Test
  void loadReturnsAFreshCopy() {
    byte[] first = SampleGuests.load(SampleGuests.HELLO);
    first[0] = 0;
    assertEquals(0x7F, SampleGuests.load(SampleGuests.HELLO)[0]);
  }

  @Test
  void unknownNameIsRefused() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> SampleGuests.load("nope"));
    assertTrue(e.getMessage().contains("nope"), e.getMessage());
  }
}
