package dev.glint.hv.kvm;

import dev.glint.hv.Availability;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.MissingCapabilityException;
import dev.glint.hv.Partition;
import dev.glint.hv.PartitionConfig;
import dev.glint.hv.spi.HypervisorProvider;
import java.util.ServiceLoader;

/**
 * Run by {@link KvmProbeTest} in a fresh JVM, so the probe sees that JVM's flags: prints the KVM
 * provider's availability and, when available, what {@code interrupter()} does.
 */
public final class ProbeMain {
  private ProbeMain() {}

  /** Prints {@code available=...}, {@code reason=...} and {@code interrupter=...} lines. */
  public static void main(String[] args) {
    HypervisorProvider provider =
        ServiceLoader.load(HypervisorProvider.class).stream()
            .map(ServiceLoader.Provider::get)
            .filter(p -> p.name().equals("kvm"))
            .findFirst()
            .orElseThrow();
    Availability availability = provider.probe();
    System.out.println("available=" + availability.isAvailable());
    if (availability instanceof Availability.Unavailable(String reason, var cause)) {
      System.out.println("reason=" + reason);
      return;
    }
    try (Hypervisor hypervisor = provider.open();
        Partition partition = hypervisor.createPartition(PartitionConfig.defaults())) {
      System.out.println("capabilities=" + hypervisor.capabilities());
      try {
        partition.createVcpu().interrupter();
        System.out.println("interrupter=ok");
      } catch (MissingCapabilityException e) {
        System.out.println("interrupter=" + e.getMessage());
      }
    }
  }
}
