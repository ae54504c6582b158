/**
 * The Linux KVM backend of Glint, over FFM ({@code /dev/kvm} ioctls). Exports nothing: it is found
 * through {@link dev.glint.hv.spi.HypervisorProvider}.
 */
module dev.glint.hv.kvm {
  requires dev.glint.hv;

  provides dev.glint.hv.spi.HypervisorProvider with
      dev.glint.hv.kvm.internal.KvmHypervisorProvider;
}
