package dev.glint.demo;

import static org.junit.jupiter.api.Assertions.fail;

import dev.glint.hv.Availability;
import dev.glint.hv.spi.HypervisorProvider;
import dev.glint.hv.spi.Hypervisors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * The demo's tests run end to end on KVM. When it is unavailable they are skipped with the
 * provider's reason, unless {@code -Dglint.conformance.require} names {@code kvm} (as CI sets it
 * where /dev/kvm opens): then they fail.
 */
final class Kvm {
  private Kvm() {}

  /** Skips or fails the current test if KVM cannot be used. */
  static void require() {
    Optional<HypervisorProvider> provider = Hypervisors.provider("kvm");
    String reason =
        provider.isEmpty()
            ? "no 'kvm' provider on the class path"
            : provider.get().probe() instanceof Availability.Unavailable(String why, var cause)
                ? why
                : null;
    if (reason == null) {
      return;
    }
    String message = "backend 'kvm' is unavailable: " + reason;
    boolean required =
        Arrays.stream(System.getProperty("glint.conformance.require", "").split(","))
            .map(String::strip)
            .anyMatch("kvm"::equals);
    if (required) {
      fail(message + " (and -Dglint.conformance.require requires it)");
    }
    Assumptions.abort(message);
  }

  /** {@return the number of open file descriptors of this process now} */
  static long openFileDescriptors() {
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.count() - 1; // the listing's own descriptor
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@return each open descriptor as "number -> what it is", for a failure message} */
  static Set<String> descriptors() {
    Set<String> all = new TreeSet<>();
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      for (Path fd : fds.toList()) {
        try {
          all.add(fd.getFileName() + " -> " + Files.readSymbolicLink(fd));
        } catch (IOException e) {
          // Closed while listed (the listing's own descriptor, among others).
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return all;
  }

  /** {@return the descriptors open now that were not in {@code before}} */
  static Set<String> newDescriptors(Set<String> before) {
    Set<String> now = descriptors();
    now.removeAll(before);
    return now;
  }

  /**
   * {@return the open descriptors once they are at most {@code limit}, or the count after {@code
   * patience}} Descriptors closed on other threads (connections, a selector) may lag a little.
   */
  static long awaitDescriptorsAtMost(long limit, Duration patience) throws InterruptedException {
    long deadline = System.nanoTime() + patience.toNanos();
    long now = openFileDescriptors();
    while (now > limit && System.nanoTime() < deadline) {
      Thread.sleep(10);
      now = openFileDescriptors();
    }
    return now;
  }
}
