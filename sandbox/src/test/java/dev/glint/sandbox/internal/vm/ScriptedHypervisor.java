package dev.glint.sandbox.internal.vm;

import dev.glint.hv.Capability;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.MemoryFlag;
import dev.glint.hv.MemoryMapping;
import dev.glint.hv.Partition;
import dev.glint.hv.PartitionConfig;
import dev.glint.hv.PrivilegedExecution;
import dev.glint.hv.Registers;
import dev.glint.hv.SpecialRegisters;
import dev.glint.hv.Vcpu;
import dev.glint.hv.VcpuExit;
import dev.glint.hv.VcpuInterrupter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Deque;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * A test double of the hypervisor SPI whose vCPU plays a script: each {@link Vcpu#run()} takes the
 * next step, which may write guest memory and set registers (as a guest would) and returns the
 * exit. It lets the run loop meet exits a real guest on KVM cannot easily produce, and runs where
 * no hypervisor is available. Not thread-safe.
 */
final class ScriptedHypervisor implements Hypervisor {

  /** One step of the script: acts on guest memory and the vCPU, returns the exit. */
  interface Step {
    VcpuExit run(MemorySegment memory, ScriptedVcpu vcpu);
  }

  final Deque<Step> script = new ArrayDeque<>();
  final List<Arena> arenas = new ArrayList<>();
  MemorySegment memory;

  @Override
  public String name() {
    return "scripted";
  }

  @Override
  public String description() {
    return "a scripted test double";
  }

  @Override
  public Set<Capability> capabilities() {
    return EnumSet.of(Capability.CANCEL, Capability.USER_MODE_ENTRY);
  }

  @Override
  public PrivilegedExecution privilegedExecution() {
    return PrivilegedExecution.NATIVE;
  }

  @Override
  public long maxMemoryBytes() {
    return 1L << 30;
  }

  @Override
  public GuestMemory allocateMemory(long byteSize) {
    Arena arena = Arena.ofShared();
    arenas.add(arena);
    MemorySegment segment = arena.allocate(byteSize, 4096);
    memory = segment;
    return new GuestMemory() {
      @Override
      public MemorySegment segment() {
        return segment;
      }

      @Override
      public long byteSize() {
        return byteSize;
      }

      @Override
      public java.util.Optional<dev.glint.hv.MemoryImage> image() {
        return java.util.Optional.empty();
      }

      @Override
      public void reset(java.util.BitSet pages) {
        pages.stream().forEach(page -> segment.asSlice(page * 4096L, 4096).fill((byte) 0));
      }

      @Override
      public void reset(long offset, long length) {
        segment.asSlice(offset, length).fill((byte) 0);
      }

      @Override
      public void close() {}
    };
  }

  @Override
  public dev.glint.hv.MemoryImage createImage(MemorySegment contents) {
    throw new UnsupportedOperationException("the scripted test double has no memory images");
  }

  @Override
  public GuestMemory allocateMemory(dev.glint.hv.MemoryImage image) {
    throw new UnsupportedOperationException("the scripted test double has no memory images");
  }

  @Override
  public Partition createPartition(PartitionConfig config) {
    return new Partition() {
      private final List<MemoryMapping> mappings = new ArrayList<>();
      private boolean closed;

      @Override
      public MemoryMapping map(long guestAddress, MemorySegment host, Set<MemoryFlag> flags) {
        MemoryMapping mapping = new MemoryMapping(guestAddress, host.byteSize(), flags);
        mappings.add(mapping);
        return mapping;
      }

      @Override
      public void unmap(MemoryMapping mapping) {
        mappings.remove(mapping);
      }

      @Override
      public List<MemoryMapping> mappings() {
        return List.copyOf(mappings);
      }

      @Override
      public BitSet dirtyPages(MemoryMapping mapping) {
        throw new UnsupportedOperationException();
      }

      @Override
      public Vcpu createVcpu() {
        return new ScriptedVcpu(ScriptedHypervisor.this);
      }

      @Override
      public boolean isClosed() {
        return closed;
      }

      @Override
      public void close() {
        closed = true;
      }
    };
  }

  @Override
  public void close() {
    arenas.forEach(Arena::close);
  }

  /** The vCPU: registers are plain fields; {@code run()} plays the next step. */
  static final class ScriptedVcpu implements Vcpu {
    private final ScriptedHypervisor hypervisor;
    Registers registers = Registers.initial();
    SpecialRegisters specialRegisters;
    int runs;

    ScriptedVcpu(ScriptedHypervisor hypervisor) {
      this.hypervisor = hypervisor;
    }

    @Override
    public Registers registers() {
      return registers;
    }

    @Override
    public void setRegisters(Registers registers) {
      this.registers = registers;
    }

    @Override
    public SpecialRegisters specialRegisters() {
      return specialRegisters;
    }

    @Override
    public void setSpecialRegisters(SpecialRegisters specialRegisters) {
      this.specialRegisters = specialRegisters;
    }

    dev.glint.hv.FpuState fpuState = dev.glint.hv.FpuState.initial();

    @Override
    public dev.glint.hv.FpuState fpuState() {
      return fpuState;
    }

    @Override
    public void setFpuState(dev.glint.hv.FpuState fpuState) {
      this.fpuState = fpuState;
    }

    @Override
    public VcpuExit run() {
      runs++;
      Step step = hypervisor.script.poll();
      if (step == null) {
        throw new AssertionError("the run loop ran the vCPU past the end of the script");
      }
      return step.run(hypervisor.memory, this);
    }

    int settles;

    @Override
    public void settle() {
      settles++;
    }

    @Override
    public void completeIoIn(long value) {}

    @Override
    public void completeMmioRead(long value) {}

    @Override
    public VcpuInterrupter interrupter() {
      return () -> {};
    }

    @Override
    public void close() {}
  }
}
