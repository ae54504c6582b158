package dev.glint.sandbox;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;

/** Counts this process's open file descriptors (Linux), for leak checks. */
final class OpenFileDescriptors {
  private OpenFileDescriptors() {}

  /** {@return the number of open file descriptors of this process now} */
  static long count() {
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      // The directory stream itself holds one descriptor while it is listed.
      return fds.count() - 1;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * {@return the count once it is at most {@code limit}, or the last count after {@code patience}}
   * Descriptors closed on other threads (a JVM handshake for a shared arena) may lag a little.
   */
  static long awaitAtMost(long limit, Duration patience) throws InterruptedException {
    long deadline = System.nanoTime() + patience.toNanos();
    long now = count();
    while (now > limit && System.nanoTime() < deadline) {
      Thread.sleep(10);
      now = count();
    }
    return now;
  }
}
