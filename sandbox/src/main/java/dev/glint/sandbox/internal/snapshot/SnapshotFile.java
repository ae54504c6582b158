package dev.glint.sandbox.internal.snapshot;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Objects;

/**
 * Writes and reads snapshot files: a sandbox's state in format version 1, laid out byte for byte in
 * {@code docs/snapshot-file.md}. Guest memory is stored sparsely, as a page bitmap and the non-zero
 * 4 KiB pages only, so a mostly-empty memory gives a small file. Stateless and thread-safe.
 *
 * <p>A file is hostile input: every byte of it is checked, every size bounded before anything is
 * allocated for it, and anything wrong gives a {@link SnapshotFormatException} saying what and
 * where. Two CRC32C checksums cover it: one over the header, checked before any header field is
 * believed, and one over the whole file.
 *
 * <p>Compatibility: a file of another format version is refused, as is one whose guest ABI major
 * version is not {@link dev.glint.sandbox.internal.layout.MemoryInitializer#ABI_MAJOR}. The backend
 * is recorded, not checked: the loader decides whether it can restore another backend's state.
 */
public final class SnapshotFile {
  private SnapshotFile() {}

  /** The largest guest memory a read allocates unless told otherwise: the builder's 16 GiB. */
  public static final long MAX_MEMORY_SIZE = SnapshotRules.MAX_MEMORY_SIZE;

  /**
   * Writes {@code contents} to {@code file} atomically: to a new file in the same directory, forced
   * to disk, then moved over {@code file}. A reader sees the old file or the whole new one, never
   * part of one. The new file is readable by its owner only (it holds guest memory).
   *
   * <p>The memory must not change while this runs; if it does, the file fails its checksum when
   * read.
   *
   * @param contents what to write
   * @param file where to write it; replaced if it exists
   * @throws IOException if writing fails; {@code file} is then unchanged and no temporary file is
   *     left
   */
  public static void write(SnapshotContents contents, Path file) throws IOException {
    Objects.requireNonNull(contents, "contents");
    Path target = file.toAbsolutePath();
    Path temporary = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".tmp");
    try {
      try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE)) {
        SnapshotWriter.write(contents, channel);
        // Without this, a crash soon after the move can leave an empty file under the final name:
        // the rename may reach the disk before the data does.
        channel.force(true);
      }
      Files.move(
          temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException | RuntimeException | Error e) {
      try {
        Files.deleteIfExists(temporary);
      } catch (IOException cleanup) {
        e.addSuppressed(cleanup);
      }
      throw e;
    }
  }

  /**
   * Writes {@code contents} to {@code out} in the file format, from its current position.
   *
   * @param contents what to write
   * @param out where to write it
   * @return the number of bytes written
   * @throws IOException if writing fails
   */
  public static long write(SnapshotContents contents, WritableByteChannel out) throws IOException {
    return SnapshotWriter.write(Objects.requireNonNull(contents, "contents"), out);
  }

  /**
   * Reads and checks the snapshot in {@code file}, allowing up to {@link #MAX_MEMORY_SIZE} of guest
   * memory.
   *
   * @param file the snapshot file
   * @param arena where the guest memory is allocated, aligned to 4 KiB
   * @return the contents, the memory in {@code arena}
   * @throws SnapshotFormatException if the file is not a snapshot this Glint can load (the message
   *     says what is wrong and where)
   * @throws IOException if reading the file fails
   */
  public static SnapshotContents read(Path file, Arena arena) throws IOException {
    return read(file, arena, MAX_MEMORY_SIZE);
  }

  /**
   * Reads and checks the snapshot in {@code file}, refusing one whose guest memory exceeds {@code
   * maxMemorySize}. A valid file of a few hundred KiB can describe 16 GiB of zero memory; this is
   * how a loader bounds what such a file makes it allocate, e.g. to its backend's maximum.
   *
   * <p>The file is read, not mapped: every byte is copied once into memory this method owns (the
   * stored pages straight into the guest memory) and checked there, so a file that changes while it
   * is read cannot slip a byte past the checksums.
   *
   * @param file the snapshot file
   * @param arena where the guest memory is allocated, aligned to 4 KiB; if the read fails after the
   *     header checked out, that memory stays allocated until the arena closes
   * @param maxMemorySize the largest guest memory to allocate, in bytes
   * @return the contents, the memory in {@code arena}
   * @throws SnapshotFormatException if the file is not a snapshot this Glint can load, or its
   *     memory is larger than {@code maxMemorySize}
   * @throws IOException if reading the file fails
   */
  public static SnapshotContents read(Path file, Arena arena, long maxMemorySize)
      throws IOException {
    Objects.requireNonNull(arena, "arena");
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      return new SnapshotReader(SnapshotReader.of(channel), "snapshot file " + file, maxMemorySize)
          .read(arena);
    }
  }

  /**
   * Reads and checks a snapshot held in memory, with the same checks as {@link #read(Path, Arena,
   * long)}: the entry point for a fuzzer. {@code bytes} is only read, never kept.
   *
   * @param bytes the snapshot's bytes
   * @param name how error messages name the snapshot
   * @param arena where the guest memory is allocated, aligned to 4 KiB
   * @param maxMemorySize the largest guest memory to allocate, in bytes
   * @return the contents, the memory in {@code arena}
   * @throws SnapshotFormatException if the bytes are not a snapshot this Glint can load
   */
  public static SnapshotContents read(
      MemorySegment bytes, String name, Arena arena, long maxMemorySize)
      throws SnapshotFormatException {
    Objects.requireNonNull(arena, "arena");
    try {
      return new SnapshotReader(SnapshotReader.of(bytes), "snapshot " + name, maxMemorySize)
          .read(arena);
    } catch (SnapshotFormatException e) {
      throw e;
    } catch (IOException e) {
      // A segment source does no I/O; only a format problem can end the read.
      throw new AssertionError("reading a memory segment failed", e);
    }
  }

  /**
   * Reads and checks a snapshot held in {@code bytes}, allowing up to {@link #MAX_MEMORY_SIZE} of
   * guest memory.
   *
   * @param bytes the snapshot's bytes
   * @param arena where the guest memory is allocated, aligned to 4 KiB
   * @return the contents, the memory in {@code arena}
   * @throws SnapshotFormatException if the bytes are not a snapshot this Glint can load
   */
  public static SnapshotContents read(byte[] bytes, Arena arena) throws SnapshotFormatException {
    return read(
        MemorySegment.ofArray(bytes), "of " + bytes.length + " bytes", arena, MAX_MEMORY_SIZE);
  }
}
