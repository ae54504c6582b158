/**
 * The Glint hypervisor SPI: what every backend (KVM, mshv, WHP, the emulated x86-64) implements,
 * and backend-neutral x86 helpers to put a guest into long mode.
 *
 * <p>Backends are found with {@link java.util.ServiceLoader} through {@link
 * dev.glint.hv.spi.HypervisorProvider}; {@link dev.glint.hv.spi.Hypervisors} selects one.
 */
module dev.glint.hv {
  exports dev.glint.hv;
  exports dev.glint.hv.spi;
  exports dev.glint.hv.x86;

  uses dev.glint.hv.spi.HypervisorProvider;
}
