/**
 * Glint's Microsoft Hypervisor backend for Linux root partitions ({@code /dev/mshv}, the Linux
 * 6.15+ uapi) over FFM. Exports nothing: users find it through {@link
 * dev.glint.hv.spi.HypervisorProvider} under the name {@code "mshv"}.
 */
module dev.glint.hv.mshv {
  requires dev.glint.hv;
  requires dev.glint.x86.decoder;

  provides dev.glint.hv.spi.HypervisorProvider with
      dev.glint.hv.mshv.internal.MshvHypervisorProvider;
}
