/**
 * The emulated backend of Glint: an x86-64 interpreter in Java, for hosts without a hypervisor.
 * Exports nothing: it is found through {@link dev.glint.hv.spi.HypervisorProvider} under the name
 * {@code emulated}, with the lowest priority of the backends.
 */
module dev.glint.hv.emulated {
  requires dev.glint.hv;
  requires dev.glint.x86.decoder;

  provides dev.glint.hv.spi.HypervisorProvider with
      dev.glint.hv.emulated.internal.EmulatedHypervisorProvider;
}
