package dev.glint.sandbox;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A snapshot file cannot be loaded: it is not a Glint snapshot, is of another format or guest ABI
 * version, does not fit the backend, or is corrupt (its checksums do not match). The message says
 * which, and where in the file. Nothing was created.
 */
public final class SnapshotFileException extends IOException {
  private static final long serialVersionUID = 1L;

  /** Serialized as a string; see {@link #file()}. */
  private final String file;

  SnapshotFileException(Path file, String message, Throwable cause) {
    super(message, cause);
    this.file = file.toString();
  }

  /** {@return the file that was refused} */
  public Path file() {
    return Path.of(file);
  }
}
