package dev.glint.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.guest.SampleGuests;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Snapshot files through the public API on KVM: a saved snapshot loads back and starts sandboxes in
 * the saved state; a corrupt, truncated or foreign file is refused with {@link
 * SnapshotFileException} naming the problem, and leaves nothing open.
 */
@Timeout(120)
class SavedSnapshotTest {
  @TempDir Path folder;

  private Path savedState(PrivilegeLevel level) throws IOException {
    Path file = folder.resolve("state-" + level + ".glintsnap");
    try (Sandbox sandbox = TestSandboxes.builder(SampleGuests.STATE, level).build()) {
      sandbox.call("Increment", ValueType.I64);
      sandbox.call("Allocate", ValueType.I64, 5000);
      try (Snapshot snapshot = sandbox.snapshot()) {
        snapshot.save(file);
      }
    }
    return file;
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void aSavedSnapshotLoadsAndStartsSandboxesInTheSavedState(PrivilegeLevel level)
      throws IOException {
    Path file = savedState(level);
    try (Snapshot loaded = Snapshot.load(file);
        Sandbox first = Sandbox.builder().snapshot(loaded).build();
        Sandbox second = Sandbox.builder().snapshot(loaded).build()) {
      assertEquals(TestSandboxes.BACKEND, loaded.backend());
      assertEquals(level, loaded.privilegeLevel());
      assertEquals(2L, first.call("Increment", ValueType.I64));
      assertEquals(5000L, first.call("Allocated", ValueType.I64));
      assertEquals(2L, second.call("Increment", ValueType.I64));
      first.restore(loaded);
      assertEquals(1L, first.call("Counter", ValueType.I64));
    }
  }

  @Test
  void aLiveSandboxOfTheSameGuestRestoresToALoadedSnapshot() throws IOException {
    Path file = savedState(PrivilegeLevel.USER);
    try (Sandbox sandbox = TestSandboxes.builder(SampleGuests.STATE, PrivilegeLevel.USER).build();
        Snapshot loaded = Snapshot.load(file, TestSandboxes.BACKEND)) {
      assertEquals(0L, sandbox.call("Counter", ValueType.I64));
      sandbox.restore(loaded);
      assertEquals(1L, sandbox.call("Counter", ValueType.I64));
      assertEquals(5000L, sandbox.call("Allocated", ValueType.I64));
    }
  }

  @Test
  void corruptTruncatedAndForeignFilesAreRefusedWithTheReason() throws IOException {
    Path file = savedState(PrivilegeLevel.USER);
    byte[] good = Files.readAllBytes(file);
    long fdsBefore = openFileDescriptors();

    byte[] flipped = good.clone();
    flipped[good.length / 2] ^= 0x40;
    assertRefused(flipped, "checksum");

    byte[] truncated = java.util.Arrays.copyOf(good, good.length - 100);
    assertRefused(truncated, "");

    byte[] foreign = good.clone();
    foreign[0] = 'X';
    assertRefused(foreign, "magic");

    assertRefused(new byte[0], "");
    assertThrows(IOException.class, () -> Snapshot.load(folder.resolve("missing.glintsnap")));
    assertEquals(fdsBefore, openFileDescriptors(), "a refused file leaves no descriptor open");
  }

  private void assertRefused(byte[] bytes, String fragment) throws IOException {
    Path bad = Files.write(folder.resolve("bad.glintsnap"), bytes);
    SnapshotFileException e = assertThrows(SnapshotFileException.class, () -> Snapshot.load(bad));
    assertEquals(bad, e.file());
    assertTrue(
        e.getMessage().toLowerCase(java.util.Locale.ROOT).contains(fragment), e.getMessage());
  }

  private static long openFileDescriptors() throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.count();
    }
  }
}
