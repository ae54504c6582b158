package dev.glint.differential;

import dev.glint.hv.Capability;
import dev.glint.hv.FpuState;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.MemoryFlag;
import dev.glint.hv.MemoryImage;
import dev.glint.hv.MemoryMapping;
import dev.glint.hv.Partition;
import dev.glint.hv.PartitionConfig;
import dev.glint.hv.PrivilegedExecution;
import dev.glint.hv.Registers;
import dev.glint.hv.SpecialRegisters;
import dev.glint.hv.Vcpu;
import dev.glint.hv.VcpuExit;
import dev.glint.hv.VcpuInterrupter;
import java.lang.foreign.MemorySegment;
import java.util.BitSet;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * A deliberately wrong backend for the self-tests: a real one whose vCPU results pass through a
 * distortion (a flipped flag or register bit, a changed port write). The harness must notice.
 */
final class WrongBackend implements Hypervisor {
  private final Hypervisor real;
  private final String name;
  private final UnaryOperator<Registers> registers;
  private final UnaryOperator<VcpuExit> exits;

  WrongBackend(
      Hypervisor real,
      String name,
      UnaryOperator<Registers> registers,
      UnaryOperator<VcpuExit> exits) {
    this.real = real;
    this.name = name;
    this.registers = registers;
    this.exits = exits;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String description() {
    return name + " over " + real.description();
  }

  @Override
  public Set<Capability> capabilities() {
    return real.capabilities();
  }

  @Override
  public PrivilegedExecution privilegedExecution() {
    return real.privilegedExecution();
  }

  @Override
  public long maxMemoryBytes() {
    return real.maxMemoryBytes();
  }

  @Override
  public GuestMemory allocateMemory(long byteSize) {
    return real.allocateMemory(byteSize);
  }

  @Override
  public MemoryImage createImage(MemorySegment contents) {
    return real.createImage(contents);
  }

  @Override
  public GuestMemory allocateMemory(MemoryImage image) {
    return real.allocateMemory(image);
  }

  @Override
  public Partition createPartition(PartitionConfig config) {
    Partition partition = real.createPartition(config);
    return new Partition() {
      @Override
      public MemoryMapping map(long guestAddress, MemorySegment host, Set<MemoryFlag> flags) {
        return partition.map(guestAddress, host, flags);
      }

      @Override
      public void unmap(MemoryMapping mapping) {
        partition.unmap(mapping);
      }

      @Override
      public List<MemoryMapping> mappings() {
        return partition.mappings();
      }

      @Override
      public BitSet dirtyPages(MemoryMapping mapping) {
        return partition.dirtyPages(mapping);
      }

      @Override
      public Vcpu createVcpu() {
        return new WrongVcpu(partition.createVcpu());
      }

      @Override
      public boolean isClosed() {
        return partition.isClosed();
      }

      @Override
      public void close() {
        partition.close();
      }
    };
  }

  @Override
  public void close() {
    real.close();
  }

  private final class WrongVcpu implements Vcpu {
    private final Vcpu vcpu;

    WrongVcpu(Vcpu vcpu) {
      this.vcpu = vcpu;
    }

    @Override
    public Registers registers() {
      return registers.apply(vcpu.registers());
    }

    @Override
    public void setRegisters(Registers values) {
      vcpu.setRegisters(values);
    }

    @Override
    public SpecialRegisters specialRegisters() {
      return vcpu.specialRegisters();
    }

    @Override
    public void setSpecialRegisters(SpecialRegisters specialRegisters) {
      vcpu.setSpecialRegisters(specialRegisters);
    }

    @Override
    public FpuState fpuState() {
      return vcpu.fpuState();
    }

    @Override
    public void setFpuState(FpuState fpuState) {
      vcpu.setFpuState(fpuState);
    }

    @Override
    public VcpuExit run() {
      return exits.apply(vcpu.run());
    }

    @Override
    public void completeIoIn(long value) {
      vcpu.completeIoIn(value);
    }

    @Override
    public void completeMmioRead(long value) {
      vcpu.completeMmioRead(value);
    }

    @Override
    public void settle() {
      vcpu.settle();
    }

    @Override
    public VcpuInterrupter interrupter() {
      return vcpu.interrupter();
    }

    @Override
    public void close() {
      vcpu.close();
    }
  }
}
