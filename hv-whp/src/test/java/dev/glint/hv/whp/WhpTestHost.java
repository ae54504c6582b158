package dev.glint.hv.whp;

import dev.glint.hv.conformance.ConformanceTestBase;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Where the WHP backend's tests run: through the test double of {@code WinHvPlatform.dll} (built by
 * the test phase with gcc and named by {@code -Dglint.hv.whp.library}) on top of {@code /dev/kvm}.
 * Wherever {@code /dev/kvm} opens, the double works, so the suites must run: {@link
 * #requireWhpWhereKvmOpens()} adds {@code whp} to {@value ConformanceTestBase#REQUIRE_PROPERTY},
 * turning a skip into a failure. Where it does not open, the tests skip with the probe's reason.
 */
final class WhpTestHost {
  private WhpTestHost() {}

  /** {@return whether /dev/kvm opens for reading and writing here} */
  static boolean kvmOpens() {
    try (FileChannel ignored =
        FileChannel.open(Path.of("/dev/kvm"), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      return true;
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return false;
    }
  }

  /** Makes an unavailable {@code whp} backend fail the suites wherever the double can work. */
  static synchronized void requireWhpWhereKvmOpens() {
    if (!kvmOpens() || System.getProperty("glint.hv.whp.library", "").isBlank()) {
      return;
    }
    Set<String> required = new LinkedHashSet<>();
    for (String name : System.getProperty(ConformanceTestBase.REQUIRE_PROPERTY, "").split(",")) {
      if (!name.isBlank()) {
        required.add(name.strip());
      }
    }
    required.add("whp");
    System.setProperty(ConformanceTestBase.REQUIRE_PROPERTY, String.join(",", required));
  }
}
