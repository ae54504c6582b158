package dev.glint.sandbox.internal.snapshot;

import java.io.IOException;

/**
 * A snapshot file is not one this Glint can load: corrupt, truncated, of another format version or
 * guest ABI, or holding a value no sandbox could have had. The message names the file, what is
 * wrong and at which byte.
 *
 * <p>It is an {@link IOException}, as {@link java.util.zip.ZipException} is: a caller that reads a
 * file already handles I/O failures, and a bad file is one more way reading it fails. A caller that
 * wants to tell the two apart catches this type first.
 */
public final class SnapshotFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates an exception.
   *
   * @param message names the file, the problem and its place in the file
   */
  public SnapshotFormatException(String message) {
    super(message);
  }
}
