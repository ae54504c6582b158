package dev.glint.sandbox.internal.vm;

import dev.glint.hv.Capability;
import dev.glint.hv.FpuState;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.MemoryFlag;
import dev.glint.hv.MemoryImage;
import dev.glint.hv.MemoryMapping;
import dev.glint.hv.Partition;
import dev.glint.hv.PartitionConfig;
import dev.glint.hv.Registers;
import dev.glint.hv.SpecialRegisters;
import dev.glint.hv.Vcpu;
import dev.glint.hv.x86.LongMode;
import dev.glint.sandbox.internal.image.GuestImage;
import dev.glint.sandbox.internal.layout.MemoryInitializer;
import dev.glint.sandbox.internal.layout.MemoryPlan;
import java.lang.foreign.MemorySegment;
import java.util.BitSet;
import java.util.Set;

/**
 * One guest's partition, memory and vCPU, set up as ABI §1–§5 describe and pointed at the image's
 * entry, or started from a snapshot's image and vCPU state. Owns the partition and the memory (not
 * the hypervisor). Not thread-safe.
 *
 * <p>The memory can be replaced by a clone of a snapshot's image ({@link #replaceMemory}); a clone
 * is mapped with dirty-page tracking where the backend has it, so that {@link #resetToImage()}
 * costs in proportion to the pages written since the last reset.
 */
public final class GuestVm implements AutoCloseable {
  private final Partition partition;
  private final Vcpu vcpu;
  private final MemoryPlan plan;
  private final int cpl;
  private final boolean trackDirty;
  private GuestMemory memory;
  private MemoryMapping mapping;
  private MemorySegment input;
  private MemorySegment output;

  /** The end of what the host wrote into the input buffer since the last reset. */
  private long inputWritten;

  private GuestVm(
      GuestMemory memory,
      MemoryMapping mapping,
      Partition partition,
      Vcpu vcpu,
      MemoryPlan plan,
      int cpl,
      boolean trackDirty) {
    this.partition = partition;
    this.vcpu = vcpu;
    this.plan = plan;
    this.cpl = cpl;
    this.trackDirty = trackDirty;
    useMemory(memory, mapping);
  }

  private void useMemory(GuestMemory memory, MemoryMapping mapping) {
    this.memory = memory;
    this.mapping = mapping;
    MemorySegment ram = memory.segment();
    this.input = ram.asSlice(plan.inputAddress(), plan.inputSize());
    this.output = ram.asSlice(plan.outputAddress(), plan.outputSize());
    this.inputWritten = 0;
  }

  /**
   * Records that the host wrote the input buffer up to {@code end}: a reset returns those pages to
   * the image, since the dirty log sees only the guest's writes.
   */
  public void noteInputWritten(long end) {
    inputWritten = Math.max(inputWritten, Math.min(end, plan.inputSize()));
  }

  /** {@return the mapping flags for guest memory: every right, plus tracking where offered} */
  private static Set<MemoryFlag> flags(boolean trackDirty) {
    // One slot with every right: the page tables, not the slot, enforce the ABI's rights (§1).
    return trackDirty ? TRACKED : MemoryFlag.READ_WRITE_EXECUTE;
  }

  private static final Set<MemoryFlag> TRACKED =
      Set.copyOf(
          java.util.EnumSet.of(
              MemoryFlag.READ, MemoryFlag.WRITE, MemoryFlag.EXECUTE, MemoryFlag.TRACK_DIRTY));

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
      partition = hypervisor.createPartition(new PartitionConfig(label, cpl == 3));
      boolean trackDirty = hypervisor.has(Capability.DIRTY_PAGE_TRACKING);
      MemoryMapping mapping = partition.map(0, memory.segment(), flags(false));
      LongMode longMode = MemoryInitializer.initialize(memory.segment(), plan, image, cpl);
      Vcpu vcpu = partition.createVcpu();
      vcpu.setSpecialRegisters(cpl == 3 ? longMode.userMode() : longMode.kernelMode());
      vcpu.setRegisters(
          Registers.initial()
              .withRip(image.entry())
              .withRsp(plan.stackTop())
              .with(dev.glint.hv.Register.RDI, MemoryPlan.DESCRIPTOR_ADDRESS));
      GuestVm vm = new GuestVm(memory, mapping, partition, vcpu, plan, cpl, trackDirty);
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

  /**
   * Starts a VM from a snapshot: a clone of {@code image} as memory and the given vCPU state, with
   * no guest code run. On failure everything created so far is closed.
   *
   * @param fpu the FPU state to set, or null to leave the vCPU's initial one
   */
  public static GuestVm fromImage(
      Hypervisor hypervisor,
      MemoryImage image,
      MemoryPlan plan,
      int cpl,
      Registers registers,
      SpecialRegisters specialRegisters,
      FpuState fpu,
      String label) {
    GuestMemory memory = hypervisor.allocateMemory(image);
    Partition partition = null;
    boolean success = false;
    try {
      partition = hypervisor.createPartition(new PartitionConfig(label, cpl == 3));
      boolean trackDirty = hypervisor.has(Capability.DIRTY_PAGE_TRACKING);
      MemoryMapping mapping = partition.map(0, memory.segment(), flags(trackDirty));
      Vcpu vcpu = partition.createVcpu();
      vcpu.setSpecialRegisters(specialRegisters);
      vcpu.setRegisters(registers);
      if (fpu != null) {
        vcpu.setFpuState(fpu);
      }
      GuestVm vm = new GuestVm(memory, mapping, partition, vcpu, plan, cpl, trackDirty);
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

  /** {@return the guest memory} */
  public GuestMemory memory() {
    return memory;
  }

  /**
   * Maps {@code clone} in place of the current memory, which is closed. The clone is tracked for
   * dirty pages where the backend offers it.
   */
  public void replaceMemory(GuestMemory clone) {
    if (clone.byteSize() != memory.byteSize()) {
      throw new IllegalArgumentException(
          "replacement memory is %d bytes, not %d".formatted(clone.byteSize(), memory.byteSize()));
    }
    partition.unmap(mapping);
    GuestMemory old = memory;
    MemoryMapping replacement;
    try {
      replacement = partition.map(0, clone.segment(), flags(trackDirty));
    } catch (RuntimeException e) {
      // Nothing is mapped now; the VM cannot run. Closing the clone is the caller's job.
      mapping = null;
      throw e;
    }
    useMemory(clone, replacement);
    old.close();
  }

  /**
   * Returns the memory to its image's bytes: with dirty-page tracking, the pages the guest wrote
   * since the last reset plus the pages of the input buffer the host wrote ({@link
   * #noteInputWritten}); without it, all of memory.
   *
   * @return the number of pages reset
   * @throws IllegalStateException if the memory is not a clone of an image
   */
  public int resetToImage() {
    if (memory.image().isEmpty()) {
      throw new IllegalStateException("guest memory is not a clone of an image");
    }
    if (!trackDirty) {
      memory.reset(0, memory.byteSize());
      inputWritten = 0;
      return (int) (memory.byteSize() / MemoryPlan.PAGE);
    }
    BitSet pages = partition.dirtyPages(mapping);
    int first = (int) (plan.inputAddress() / MemoryPlan.PAGE);
    pages.set(first, first + (int) ((inputWritten + MemoryPlan.PAGE - 1) / MemoryPlan.PAGE));
    memory.reset(pages);
    inputWritten = 0;
    return pages.cardinality();
  }

  /** {@return whether resets cost in proportion to the pages written (dirty-page tracking)} */
  public boolean tracksDirtyPages() {
    return trackDirty;
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
