package dev.glint.hv.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.glint.hv.Availability;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.MemoryFlag;
import dev.glint.hv.Partition;
import dev.glint.hv.PartitionConfig;
import dev.glint.hv.Registers;
import dev.glint.hv.Vcpu;
import dev.glint.hv.VcpuExit;
import dev.glint.hv.spi.HypervisorProvider;
import dev.glint.hv.spi.Hypervisors;
import dev.glint.hv.x86.RealMode;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** The README's SPI example, as written there, so that it keeps working. */
class ReadmeExampleTest {

  @Test
  void readmeExampleHaltsOnKvm() {
    System.setProperty(Hypervisors.BACKEND_PROPERTY, "kvm");
    Availability kvm = Hypervisors.provider("kvm").orElseThrow().probe();
    assumeTrue(kvm.isAvailable(), () -> "kvm unavailable: " + kvm);
    try {
      // --- README example, verbatim from here ---
      HypervisorProvider provider = Hypervisors.select(); // -Dglint.backend=kvm, or the best
      try (Hypervisor hv = provider.open();
          GuestMemory ram = hv.allocateMemory(2 << 20);
          Partition vm = hv.createPartition(PartitionConfig.defaults())) {
        ram.segment().set(ValueLayout.JAVA_BYTE, 0x1000, (byte) 0xF4); // hlt
        vm.map(0, ram.segment(), MemoryFlag.READ_WRITE_EXECUTE);
        Vcpu cpu = vm.createVcpu(); // closed with the partition
        cpu.setSpecialRegisters(RealMode.specialRegisters(0)); // 16-bit real mode, CS = 0
        cpu.setRegisters(Registers.initial().withRip(0x1000));
        VcpuExit exit = cpu.run(); // VcpuExit.Halt
        // --- to here ---
        assertInstanceOf(VcpuExit.Halt.class, exit);
        assertEquals(0x1001, cpu.registers().rip(), "RIP after the one-byte hlt");
      }
    } finally {
      System.clearProperty(Hypervisors.BACKEND_PROPERTY);
    }
  }
}
