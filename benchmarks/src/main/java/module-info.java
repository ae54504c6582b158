/**
 * Glint's benchmarks: each measures Glint through its public API beside a floor (the same work in
 * C, compiled and run in the same run) and prints the ratios. See {@code docs/performance.md}.
 */
module dev.glint.benchmarks {
  requires dev.glint.hv;
  requires dev.glint.sandbox;
  requires dev.glint.guest;

  exports dev.glint.benchmarks;
}
