package dev.glint.hv.whp;

import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * Before any test of this module runs (the conformance suite and the sandbox tests scanned from the
 * sandbox test-jar alike), requires the {@code whp} backend wherever {@code /dev/kvm} opens, so
 * that an unavailable double fails the build instead of skipping; see {@link WhpTestHost}.
 * Registered in {@code META-INF/services/org.junit.platform.launcher.LauncherSessionListener}.
 */
public final class WhpRequirement implements LauncherSessionListener {
  /** Creates the listener; the JUnit launcher calls it. */
  public WhpRequirement() {}

  @Override
  public void launcherSessionOpened(LauncherSession session) {
    WhpTestHost.requireWhpWhereKvmOpens();
  }
}
