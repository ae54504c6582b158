/**
 * Differential testing of Glint's backends: random instruction sequences run on two backends (the
 * emulator against the real CPU through KVM at CPL 3) from the same start state, compared register
 * by register. Uses the hypervisor SPI only; the backends are found through ServiceLoader.
 */
module dev.glint.differential {
  requires dev.glint.hv;

  exports dev.glint.differential;
}
