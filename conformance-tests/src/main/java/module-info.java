/**
 * The Glint conformance suite: one set of tests every {@link dev.glint.hv.spi.HypervisorProvider}
 * must pass. A backend runs it by subclassing {@link
 * dev.glint.hv.conformance.HypervisorConformanceTest}.
 */
module dev.glint.hv.conformance {
  requires transitive dev.glint.hv;
  requires transitive org.junit.jupiter.api;
  requires transitive org.junit.jupiter.params;

  exports dev.glint.hv.conformance;

  // JUnit calls the package-private test methods reflectively when the suite runs on the module
  // path.
  opens dev.glint.hv.conformance to
      org.junit.platform.commons;
}
