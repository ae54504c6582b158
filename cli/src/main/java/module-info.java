/**
 * The {@code glint} command line: lists the hypervisor backends, runs a guest's function, measures
 * Glint beside its C floor, runs the conformance suite against a backend, and serves the demo. It
 * uses the public sandbox API only; backends are found with {@link java.util.ServiceLoader}.
 */
module dev.glint.cli {
  requires dev.glint.sandbox;
  requires dev.glint.guest;
  requires dev.glint.demo;
  requires dev.glint.hv.conformance;
  requires info.picocli;
  requires org.junit.platform.launcher;

  exports dev.glint.cli;

  // picocli reads and sets the commands' annotated fields reflectively.
  opens dev.glint.cli.internal to
      info.picocli;
  // The JUnit Platform instantiates the conformance suite's subclass reflectively.
  opens dev.glint.cli.internal.conformance to
      org.junit.platform.commons;

  uses dev.glint.hv.spi.HypervisorProvider;
}
