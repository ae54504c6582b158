/**
 * Glint's sandbox: load a guest, call its functions by name, give it host functions. The hypervisor
 * backend is found through {@link java.util.ServiceLoader} ({@code
 * dev.glint.hv.spi.HypervisorProvider}); add a backend module such as {@code dev.glint.hv.kvm}.
 */
module dev.glint.sandbox {
  requires transitive dev.glint.hv;
  requires jdk.jfr;

  exports dev.glint.sandbox;

  uses dev.glint.hv.spi.HypervisorProvider;
}
