package dev.glint.sandbox.internal.vm;

import dev.glint.hv.GuestMemory;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.MemoryFlag;
import dev.glint.hv.Partition;
import dev.glint.hv.PartitionConfig;
import dev.glint.hv.Registers;
import dev.glint.hv.Vcpu;
import dev.glint.hv.x86.LongMode;
import dev.glint.sandbox.internal.image.GuestImage;
import dev.glint.sandbox.internal.layout.MemoryInitializer;
import dev.glint.sandbox.internal.layout.MemoryPlan;
import java.lang.foreign.MemorySegment;

/**
 * One guest's partition, memory and vCPU, set up as ABI §1–§5 describe and pointed at the image's
 * entry. Owns the partition and the memory (not the hypervisor). Not thread-safe.
 */
public final class GuestVm implements AutoCloseable {
  private final GuestMemory memory;
  private final Partition partition;
  private final Vcpu vcpu;
  private final MemoryPlan plan;
  private final MemorySegment input;
  private final MemorySegment output;
  private final int cpl;

  private GuestVm(GuestMemory memory, Partition partition, Vcpu vcpu, MemoryPlan plan, int cpl) {
    this.memory = memory;
    this.partition = partition;
    this.vcpu = vcpu;
    this.plan = plan;
    this.cpl = cpl;
    MemorySegment ram = memory.segment();
    this.input = ram.asSlice(plan.inputAddress(), plan.inputSize());
    this.output = ram.asSlice(plan.outputAddress(), plan.outputSize());
  }

  /**
   * Allocates and maps the memory, writes the layout and the image, creates the vCPU and sets its
   * entry registers. On failure everything created so far is closed.
   *
   * @param cpl 0 or 3
   */
  public static GuestVm create(
      Hypervisor hypervisor, GuestImage image, MemoryPlan plan, int cpl, String label) {
    GuestMemory memory = hypervisor.allocateMemory(plan.memorySize());
    Partition partition = null;
    boolean success = false;
    try {
      partition = hypervisor.createPartition(new PartitionConfig(label));
      // One slot with every right: the page tables, not the slot, enforce the ABI's rights (§1).
      partition.map(0, memory.segment(), MemoryFlag.READ_WRITE_EXECUTE);
      LongMode longMode = MemoryInitializer.initialize(memory.segment(), plan, image, cpl);
      Vcpu vcpu = partition.createVcpu();
      vcpu.setSpecialRegisters(cpl == 3 ? longMode.userMode() : longMode.kernelMode());
      vcpu.setRegisters(
          Registers.initial()
              .withRip(image.entry())
              .withRsp(plan.stackTop())
              .with(dev.glint.hv.Register.RDI, MemoryPlan.DESCRIPTOR_ADDRESS));
      GuestVm vm = new GuestVm(memory, partition, vcpu, plan, cpl);
      success = true;
      return vm;
    } finally {
      if (!success) {
        if (partition != null) {
          partition.close();
        }
        memory.close();
      }
    }
  }

  /** {@return the vCPU} */
  public Vcpu vcpu() {
    return vcpu;
  }

  /** {@return the layout} */
  public MemoryPlan plan() {
    return plan;
  }

  /** {@return the input buffer (host writes, guest reads)} */
  public MemorySegment input() {
    return input;
  }

  /** {@return the output buffer (guest writes, host reads)} */
  public MemorySegment output() {
    return output;
  }

  /** {@return the privilege level of the guest's functions, 0 or 3} */
  public int cpl() {
    return cpl;
  }

  /** Closes the partition (and its vCPU), then frees the memory. Idempotent. */
  @Override
  public void close() {
    try {
      partition.close();
    } finally {
      memory.close();
    }
  }
}
