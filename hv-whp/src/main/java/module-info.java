/**
 * The Windows Hypervisor Platform backend of Glint, over FFM ({@code WinHvPlatform.dll}, or an
 * implementation of the same ABI named by {@code -Dglint.hv.whp.library}). Exports nothing: it is
 * found through {@link dev.glint.hv.spi.HypervisorProvider}.
 */
module dev.glint.hv.whp {
  requires dev.glint.hv;
  requires dev.glint.x86.decoder;

  provides dev.glint.hv.spi.HypervisorProvider with
      dev.glint.hv.whp.internal.WhpHypervisorProvider;
}
