package dev.glint.hv.mshv;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * Makes the mshv suites mandatory where the ABI double can work: before any test runs, if the
 * system property {@value #PROPERTY} is {@code true} (this module's surefire configuration sets it)
 * and {@code /dev/kvm} opens for reading and writing, adds {@code mshv} to {@code
 * glint.conformance.require}, so an unavailable mshv backend fails the conformance suite and the
 * sandbox tests instead of skipping them. Where {@code /dev/kvm} does not open they skip with the
 * probe's reason. Registered through {@code META-INF/services} for the JUnit Platform launcher.
 */
public final class MshvDoubleRequirement implements LauncherSessionListener {
  static final String PROPERTY = "glint.hv.mshv.requireWhereKvmOpens";
  static final String REQUIRE_PROPERTY = "glint.conformance.require";

  /** Creates the listener; the launcher calls it. */
  public MshvDoubleRequirement() {}

  @Override
  public void launcherSessionOpened(LauncherSession session) {
    if (Boolean.getBoolean(PROPERTY) && kvmOpens()) {
      String required =
          Stream.concat(
                  Arrays.stream(System.getProperty(REQUIRE_PROPERTY, "").split(",")),
                  Stream.of("mshv"))
              .map(String::strip)
              .filter(name -> !name.isEmpty())
              .distinct()
              .collect(Collectors.joining(","));
      System.setProperty(REQUIRE_PROPERTY, required);
    }
  }

  /** {@return whether /dev/kvm opens for reading and writing} */
  public static boolean kvmOpens() {
    try (FileChannel channel =
        FileChannel.open(Path.of("/dev/kvm"), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      return true;
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return false;
    }
  }
}
