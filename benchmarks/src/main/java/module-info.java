/**
 * Glint's benchmarks: each measures Glint through its public API beside a floor (the same work in
 * C, compiled and run in the same run) or beside its peers, and prints the ratios. See {@code
 * docs/performance.md}.
 */
module dev.glint.benchmarks {
  requires dev.glint.hv;
  requires dev.glint.sandbox;
  requires dev.glint.guest;
  // The soak samples heap and native memory through the platform MBeans.
  requires java.management;
  // Peers of the peer benchmark only: Chicory's interpreter and its run-time compiler.
  requires com.dylibso.chicory.runtime;
  requires com.dylibso.chicory.compiler;

  exports dev.glint.benchmarks;
}
