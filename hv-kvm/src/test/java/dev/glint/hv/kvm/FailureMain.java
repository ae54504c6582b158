package dev.glint.hv.kvm;

import dev.glint.hv.GuestMemory;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.HypervisorException;
import dev.glint.hv.MemoryFlag;
import dev.glint.hv.Partition;
import dev.glint.hv.PartitionConfig;
import dev.glint.hv.spi.Hypervisors;
import java.io.IOException;

/**
 * Run by {@link KvmProbeTest} in a fresh JVM over the glibc double: maps memory and creates vCPUs
 * while the double makes a call fail, and prints each exception and the open fd count before and
 * after, so the test can check the error and that nothing leaked.
 */
public final class FailureMain {
  private FailureMain() {}

  /** Prints {@code map=...}, {@code vcpu=...} and {@code fds=before,after} lines. */
  public static void main(String[] args) throws IOException {
    try (Hypervisor hypervisor = Hypervisors.provider("kvm").orElseThrow().open();
        GuestMemory memory = hypervisor.allocateMemory(16 * Partition.PAGE_SIZE)) {
      long before = KvmBackendTest.openFds();
      for (int i = 0; i < 20; i++) {
        try (Partition partition = hypervisor.createPartition(new PartitionConfig("fail"))) {
          try {
            partition.map(0x10_0000, memory.segment(), MemoryFlag.READ_WRITE_EXECUTE);
            System.out.println("map=ok");
          } catch (HypervisorException e) {
            System.out.println("map=" + e.getMessage());
          }
          try {
            partition.createVcpu();
            System.out.println("vcpu=ok");
          } catch (HypervisorException e) {
            System.out.println("vcpu=" + e.getMessage());
          }
        }
      }
      System.out.println("fds=" + before + "," + KvmBackendTest.openFds());
    }
  }
}
