package dev.glint.hv.kvm.internal;

import dev.glint.hv.FpuState;
import dev.glint.hv.Registers;
import dev.glint.hv.SpecialRegisters;
import dev.glint.hv.Vcpu;
import dev.glint.hv.VcpuExit;
import dev.glint.hv.VcpuInterrupter;
import dev.glint.hv.kvm.internal.sys.Errno;
import dev.glint.hv.kvm.internal.sys.Kvm;
import dev.glint.hv.kvm.internal.sys.KvmCpuid2;
import dev.glint.hv.kvm.internal.sys.KvmDirtyRing;
import dev.glint.hv.kvm.internal.sys.KvmFpu;
import dev.glint.hv.kvm.internal.sys.KvmRegs;
import dev.glint.hv.kvm.internal.sys.KvmRun;
import dev.glint.hv.kvm.internal.sys.KvmSregs;
import dev.glint.hv.kvm.internal.sys.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * vCPU 0 of a {@link KvmPartition}: a vCPU fd, its mapped {@code kvm_run} and the CPUID KVM
 * supports ({@code KVM_SET_CPUID2}).
 *
 * <p><b>Registers through {@code kvm_run}.</b> Each vCPU ioctl costs 5-6 µs on a PVM host, so where
 * {@code KVM_CAP_SYNC_REGS} covers regs and sregs, {@code kvm_valid_regs} asks KVM to store both
 * into {@code kvm_run->s.regs} at the end of every {@code KVM_RUN}; reads after a run come from
 * there. Writes are staged as values and copied into {@code s.regs} with the matching {@code
 * kvm_dirty_regs} bit right before the next {@code KVM_RUN}, which loads them. KVM clears a dirty
 * bit when it loaded the set; a staged value whose bit is still set after the run (the run ended
 * before loading it) is copied again next time, so no write is lost whatever order the kernel
 * checks {@code immediate_exit} and dirty registers in. Before the first run, reads use {@code
 * KVM_GET_REGS}/{@code KVM_GET_SREGS}. Without the capability (or with {@code
 * -Dglint.hv.kvm.syncRegs=false}) every access is an ioctl.
 *
 * <p>{@code cr8} is also written to {@code kvm_run->cr8} whenever special registers are set:
 * without an in-kernel APIC, KVM loads CR8 from there on every {@code KVM_RUN}.
 *
 * <p>Where the partition uses a dirty ring, the vCPU maps its ring (page {@code
 * KVM_DIRTY_LOG_PAGE_OFFSET} of the vCPU fd) and hands it to the partition, which harvests it. A
 * {@code KVM_EXIT_DIRTY_RING_FULL} never reaches the caller: the run harvests into the partition
 * and enters the guest again.
 *
 * <p><b>Threading:</b> confined to one thread at a time (checked: overlapping calls throw); see
 * {@link KvmKicker} for the interrupt handle and for close during a run.
 */
final class KvmVcpu implements Vcpu {
  private enum Pending {
    NONE,
    IO_IN,
    MMIO_READ
  }

  private final KvmPartition partition;
  private final int fd;
  private final MemorySegment run;

  /** The dirty ring, or null when the partition has none. */
  private final KvmDirtyRing dirtyRing;

  private final long runSize;
  private final boolean syncRegs;
  private final KvmKicker kicker;
  private final String resource;

  /** Holds a kvm_regs or kvm_sregs for the ioctl path. */
  private final MemorySegment scratch = KvmSregs.allocateBuffer();

  private final boolean fpuAccess;
  private final MemorySegment fpuScratch = KvmFpu.allocate(Arena.ofAuto());

  private final AtomicBoolean closed = new AtomicBoolean();
  private Registers stagedRegisters;
  private SpecialRegisters stagedSpecialRegisters;

  /** Whether kvm_run->s.regs holds the current state (true after the first KVM_RUN). */
  private boolean synced;

  private Pending pending = Pending.NONE;

  /**
   * When not -1: {@link #settle()} was called after an {@code out} at this RIP and deferred the
   * work, since KVM's completion of an {@code out} only skips it, and only if RIP still points at
   * it. Anything that could observe the difference settles for real first.
   */
  private long deferredOutRip = -1;

  private VcpuExit lastExit;
  private int pendingSize;
  private final KvmPortIo portIo = new KvmPortIo();

  private KvmVcpu(
      KvmPartition partition,
      int fd,
      MemorySegment run,
      KvmDirtyRing dirtyRing,
      boolean syncRegs,
      KvmHost host) {
    this.partition = partition;
    this.fd = fd;
    this.run = run;
    this.dirtyRing = dirtyRing;
    this.runSize = run.byteSize();
    this.syncRegs = syncRegs;
    this.fpuAccess = host.capabilities().contains(dev.glint.hv.Capability.FPU_STATE);
    this.resource = "kvm vCPU of partition '" + partition.label() + "'";
    this.kicker =
        new KvmKicker(run, host.signal(), host.cancelUnavailableReason().orElse("available"));
  }

  /** Creates vCPU 0; on any failure, frees what was made. */
  static KvmVcpu create(KvmPartition partition, KvmHypervisor hypervisor) {
    KvmHost host = hypervisor.host();
    int fd = Libc.ioctl(partition.vmFd(), Kvm.KVM_CREATE_VCPU, 0L);
    if (fd < 0) {
      throw KvmErrors.failure(
          "KVM_CREATE_VCPU", -fd, "creating vCPU 0 of partition '" + partition.label() + "'");
    }
    MemorySegment run = null;
    KvmDirtyRing ring = null;
    boolean success = false;
    try {
      int[] errno = new int[1];
      run = KvmRun.map(fd, host.vcpuMmapSize(), errno);
      if (run == null) {
        throw KvmErrors.failure(
            "mmap",
            errno[0],
            "mapping kvm_run (%d bytes) of vCPU fd %d".formatted(host.vcpuMmapSize(), fd));
      }
      int ringEntries = partition.dirtyRingEntries();
      if (ringEntries > 0) {
        ring = KvmDirtyRing.map(fd, ringEntries, errno);
        if (ring == null) {
          throw KvmErrors.failure(
              "mmap",
              errno[0],
              "mapping the dirty ring (%d entries, %d bytes at page %d) of vCPU fd %d"
                  .formatted(
                      ringEntries,
                      (long) ringEntries * KvmDirtyRing.ENTRY_BYTES,
                      KvmDirtyRing.KVM_DIRTY_LOG_PAGE_OFFSET,
                      fd));
        }
      }
      int result = KvmCpuid2.set(fd, host.supportedCpuid());
      if (result < 0) {
        throw KvmErrors.failure(
            "KVM_SET_CPUID2",
            -result,
            "%d entries from KVM_GET_SUPPORTED_CPUID"
                .formatted(host.supportedCpuid().length / KvmCpuid2.ENTRY_INTS));
      }
      boolean sync = hypervisor.useSyncRegs();
      if (sync) {
        KvmRun.setValidRegs(run, Kvm.KVM_SYNC_X86_REGS | Kvm.KVM_SYNC_X86_SREGS);
      }
      KvmVcpu vcpu = new KvmVcpu(partition, fd, run, ring, sync, host);
      success = true;
      return vcpu;
    } finally {
      if (!success) {
        if (ring != null) {
          ring.unmap();
        }
        if (run != null) {
          Libc.munmap(run.address(), run.byteSize());
        }
        Libc.close(fd);
      }
    }
  }

  private String describe() {
    return resource;
  }

  /** {@return the dirty ring, or null when the partition has none} */
  KvmDirtyRing dirtyRing() {
    return dirtyRing;
  }

  /**
   * {@return whether KVM_RUN stopped only because the dirty ring filled} If so the ring has been
   * harvested into the partition and reset, and the caller enters the guest again.
   */
  private boolean harvestedFullRing() {
    if (dirtyRing == null || KvmRun.exitReason(run) != Kvm.KVM_EXIT_DIRTY_RING_FULL) {
      return false;
    }
    partition.dirtyRingFull();
    return true;
  }

  private void enter() {
    kicker.enter(0, describe());
  }

  @Override
  public Registers registers() {
    enter();
    try {
      settleDeferred();
      if (stagedRegisters != null) {
        return stagedRegisters;
      }
      if (syncRegs && synced) {
        return KvmRegs.read(run, KvmRun.SYNC_REGS_REGS);
      }
      check(Libc.ioctl(fd, KvmRegs.KVM_GET_REGS, scratch), "KVM_GET_REGS", "reading registers");
      return KvmRegs.read(scratch, 0);
    } finally {
      kicker.leave();
    }
  }

  @Override
  public void setRegisters(Registers registers) {
    Objects.requireNonNull(registers, "registers");
    enter();
    try {
      if (deferredOutRip != -1 && registers.rip() != deferredOutRip) {
        deferredOutRip = -1; // KVM compares RIP at the next run: the skip will not happen
      }
      settleDeferred();
      if (syncRegs) {
        stagedRegisters = registers;
        return;
      }
      KvmRegs.write(scratch, 0, registers);
      check(
          Libc.ioctl(fd, KvmRegs.KVM_SET_REGS, scratch),
          "KVM_SET_REGS",
          "RIP 0x%x, RFLAGS 0x%x".formatted(registers.rip(), registers.rflags()));
    } finally {
      kicker.leave();
    }
  }

  @Override
  public SpecialRegisters specialRegisters() {
    enter();
    try {
      if (stagedSpecialRegisters != null) {
        return stagedSpecialRegisters;
      }
      if (syncRegs && synced) {
        return KvmSregs.read(run, KvmRun.SYNC_REGS_SREGS);
      }
      check(
          Libc.ioctl(fd, KvmSregs.KVM_GET_SREGS, scratch),
          "KVM_GET_SREGS",
          "reading special registers");
      return KvmSregs.read(scratch, 0);
    } finally {
      kicker.leave();
    }
  }

  @Override
  public void setSpecialRegisters(SpecialRegisters specialRegisters) {
    Objects.requireNonNull(specialRegisters, "specialRegisters");
    enter();
    try {
      settleDeferred();
      if (syncRegs) {
        stagedSpecialRegisters = specialRegisters;
        return;
      }
      // Start from the current state so interrupt_bitmap keeps KVM's value.
      check(
          Libc.ioctl(fd, KvmSregs.KVM_GET_SREGS, scratch),
          "KVM_GET_SREGS",
          "before setting special registers");
      KvmSregs.write(scratch, 0, specialRegisters);
      check(
          Libc.ioctl(fd, KvmSregs.KVM_SET_SREGS, scratch),
          "KVM_SET_SREGS",
          "CR0 0x%x, CR4 0x%x, EFER 0x%x, CS 0x%x"
              .formatted(
                  specialRegisters.cr0(),
                  specialRegisters.cr4(),
                  specialRegisters.efer(),
                  specialRegisters.cs().selector()));
      KvmRun.setCr8(run, specialRegisters.cr8());
    } finally {
      kicker.leave();
    }
  }

  @Override
  public FpuState fpuState() {
    requireFpuState();
    enter();
    try {
      check(Libc.ioctl(fd, KvmFpu.KVM_GET_FPU, fpuScratch), "KVM_GET_FPU", "reading FPU state");
      return KvmFpu.read(fpuScratch);
    } finally {
      kicker.leave();
    }
  }

  @Override
  public void setFpuState(FpuState fpuState) {
    Objects.requireNonNull(fpuState, "fpuState");
    requireFpuState();
    enter();
    try {
      // Not part of kvm_run's synced registers: always an ioctl.
      KvmFpu.write(fpuScratch, fpuState);
      check(
          Libc.ioctl(fd, KvmFpu.KVM_SET_FPU, fpuScratch),
          "KVM_SET_FPU",
          "FCW 0x%x, MXCSR 0x%x".formatted(fpuState.fcw(), fpuState.mxcsr()));
    } finally {
      kicker.leave();
    }
  }

  private void requireFpuState() {
    if (!fpuAccess) {
      throw new dev.glint.hv.MissingCapabilityException(
          KvmErrors.BACKEND, dev.glint.hv.Capability.FPU_STATE, "reading or writing x87/SSE state");
    }
  }

  private void check(int result, String operation, String detail) {
    if (result < 0) {
      throw KvmErrors.failure(operation, -result, describe() + ": " + detail);
    }
  }

  /** Copies staged register values into kvm_run->s.regs and marks them dirty. */
  private void stageIntoRun() {
    long dirty = 0;
    if (stagedRegisters != null) {
      KvmRegs.write(run, KvmRun.SYNC_REGS_REGS, stagedRegisters);
      dirty |= Kvm.KVM_SYNC_X86_REGS;
    }
    if (stagedSpecialRegisters != null) {
      KvmSregs.write(run, KvmRun.SYNC_REGS_SREGS, stagedSpecialRegisters);
      KvmRun.setCr8(run, stagedSpecialRegisters.cr8());
      dirty |= Kvm.KVM_SYNC_X86_SREGS;
    }
    KvmRun.setDirtyRegs(run, dirty);
  }

  /** After KVM_RUN: drops the staged values KVM loaded (it cleared their dirty bits). */
  private void unstageLoaded() {
    long stillDirty = KvmRun.dirtyRegs(run);
    if ((stillDirty & Kvm.KVM_SYNC_X86_REGS) == 0) {
      stagedRegisters = null;
    }
    if ((stillDirty & Kvm.KVM_SYNC_X86_SREGS) == 0) {
      stagedSpecialRegisters = null;
    }
    synced = true;
  }

  @Override
  public VcpuExit run() {
    // Entering first makes the checks below see the last call's state, whichever thread made it.
    kicker.enter(Libc.currentTid(), describe());
    try {
      if (pending != Pending.NONE) {
        throw new IllegalStateException(
            "the last exit, %s, is not answered; call %s before running again"
                .formatted(
                    lastExit, pending == Pending.IO_IN ? "completeIoIn" : "completeMmioRead"));
      }
      deferredOutRip = -1; // this KVM_RUN completes the out itself
      if (portIo.hasNext()) {
        // More items of a string I/O exit: KVM completes them all at the next KVM_RUN.
        return exit(portIo.next(run));
      }
      while (true) {
        if (syncRegs) {
          stageIntoRun();
        }
        int result = Libc.ioctl(fd, KvmRun.KVM_RUN, 0L);
        if (syncRegs) {
          unstageLoaded();
        }
        if (result == -Errno.EINTR) {
          if (kicker.consumeInterrupt()) {
            return exit(KvmExits.CANCELLED);
          }
          continue; // a signal that was not ours: go on running
        }
        if (result < 0) {
          boolean hadStaged = stagedRegisters != null || stagedSpecialRegisters != null;
          stagedRegisters = null;
          stagedSpecialRegisters = null;
          if (syncRegs) {
            KvmRun.setDirtyRegs(run, 0);
          }
          throw KvmErrors.failure(
              "KVM_RUN",
              -result,
              describe()
                  + (hadStaged
                      ? ": KVM refused to run, possibly the staged registers (they were dropped)"
                      : ""));
        }
        if (harvestedFullRing()) {
          continue; // not an exit the caller sees: the guest goes on where it stopped
        }
        return exit(
            KvmRun.exitReason(run) == Kvm.KVM_EXIT_IO ? portIo.begin(run) : KvmExits.decode(run));
      }
    } finally {
      kicker.leave();
    }
  }

  private VcpuExit exit(VcpuExit exit) {
    lastExit = exit;
    switch (exit) {
      case VcpuExit.IoIn in -> {
        pending = Pending.IO_IN;
        pendingSize = in.size();
      }
      case VcpuExit.MmioRead read -> {
        pending = Pending.MMIO_READ;
        pendingSize = read.size();
      }
      default -> pending = Pending.NONE;
    }
    return exit;
  }

  /** The most completions {@link #settle()} runs before it gives up on a string instruction. */
  private static final int MAX_SETTLE_RUNS = 4096;

  /**
   * {@inheritDoc}
   *
   * <p>KVM completes an I/O or MMIO exit at the start of the next {@code KVM_RUN}, after it loads
   * registers userspace set (so a completion would write into restored registers, and an {@code
   * out} is skipped only if RIP still points at it). A {@code KVM_RUN} with {@code immediate_exit}
   * set completes it and returns {@code EINTR} without entering the guest: KVM's documented way to
   * settle state before saving it. Staged registers are kept staged through that run, so they win
   * over the completion. A string instruction may produce another exit instead of {@code EINTR}; it
   * is answered with zeros and completed in turn, at most {@value #MAX_SETTLE_RUNS} times.
   */
  @Override
  public void settle() {
    kicker.enter(0, describe()); // tid 0: an interrupt meanwhile only leaves immediate_exit set
    try {
      if (deferredOutRip != -1) {
        return;
      }
      if (lastExit instanceof VcpuExit.IoOut && canDeferOut()) {
        deferredOutRip = KvmRegs.read(run, KvmRun.SYNC_REGS_REGS).rip();
        return;
      }
      settleNow();
    } finally {
      kicker.leave();
    }
  }

  /**
   * {@return whether the completion of the last {@code out} can wait} It can when nothing else is
   * pending (one item, not a string instruction), the registers in {@code kvm_run} are current, and
   * the vCPU is in 64-bit mode, where RIP is the linear address KVM compares.
   */
  private boolean canDeferOut() {
    if (portIo.hasNext() || !syncRegs || !synced || stagedRegisters != null) {
      return false;
    }
    SpecialRegisters current =
        stagedSpecialRegisters != null
            ? stagedSpecialRegisters
            : KvmSregs.read(run, KvmRun.SYNC_REGS_SREGS);
    return (current.efer() & EFER_LMA) != 0 && current.cs().longMode();
  }

  private static final long EFER_LMA = 1L << 10;

  /** Does the work {@link #settle()} deferred, if any; the caller has entered. */
  private void settleDeferred() {
    if (deferredOutRip != -1) {
      deferredOutRip = -1;
      settleNow();
    }
  }

  /** Completes the last exit now; the caller has entered. */
  private void settleNow() {
    {
      if (!needsCompletion(lastExit) && !portIo.hasNext()) {
        pending = Pending.NONE;
        return;
      }
      kicker.beginImmediateRun();
      try {
        for (int runs = 0; ; runs++) {
          if (pending == Pending.IO_IN) {
            while (portIo.hasNext()) {
              portIo.answer(run, 0);
            }
          } else if (pending == Pending.MMIO_READ) {
            KvmRun.setMmioData(run, pendingSize, 0);
          }
          pending = Pending.NONE;
          while (portIo.hasNext()) {
            portIo.next(run); // out items KVM already holds; in items were answered above
          }
          if (runs == MAX_SETTLE_RUNS) {
            lastExit = null;
            throw new IllegalStateException(
                describe()
                    + ": the guest's last instruction still needs I/O after %d completions (a long string I/O instruction); the vCPU cannot be settled"
                        .formatted(MAX_SETTLE_RUNS));
          }
          if (syncRegs) {
            KvmRun.setDirtyRegs(run, 0); // staged values stay staged: they win over the completion
          }
          int result = Libc.ioctl(fd, KvmRun.KVM_RUN, 0L);
          if (syncRegs) {
            synced = true;
          }
          if (result == -Errno.EINTR) {
            lastExit = null;
            return;
          }
          if (result < 0) {
            throw KvmErrors.failure("KVM_RUN", -result, describe() + ": settling the last exit");
          }
          if (harvestedFullRing()) {
            // Not expected (KVM checks the ring only on guest entry, which immediate_exit
            // prevents), but harmless: nothing is pending now, so the next run just settles.
            continue;
          }
          // The completion asked for more I/O without entering the guest: answer it too.
          VcpuExit next =
              exit(
                  KvmRun.exitReason(run) == Kvm.KVM_EXIT_IO
                      ? portIo.begin(run)
                      : KvmExits.decode(run));
          if (!needsCompletion(next)) {
            lastExit = null;
            pending = Pending.NONE;
            return;
          }
        }
      } finally {
        kicker.endImmediateRun();
      }
    }
  }

  /** {@return whether KVM finishes {@code exit} at the next {@code KVM_RUN}} */
  private static boolean needsCompletion(VcpuExit exit) {
    return exit instanceof VcpuExit.IoOut
        || exit instanceof VcpuExit.IoIn
        || exit instanceof VcpuExit.MmioRead
        || exit instanceof VcpuExit.MmioWrite;
  }

  @Override
  public void completeIoIn(long value) {
    enter();
    try {
      if (pending != Pending.IO_IN) {
        throw notPending("IoIn");
      }
      portIo.answer(run, value);
      pending = Pending.NONE;
    } finally {
      kicker.leave();
    }
  }

  @Override
  public void completeMmioRead(long value) {
    enter();
    try {
      if (pending != Pending.MMIO_READ) {
        throw notPending("MmioRead");
      }
      KvmRun.setMmioData(run, pendingSize, value);
      pending = Pending.NONE;
    } finally {
      kicker.leave();
    }
  }

  private IllegalStateException notPending(String expected) {
    return new IllegalStateException(
        lastExit == null
            ? "the vCPU has not run yet; there is no " + expected + " to answer"
            : "the last exit was %s, not an unanswered %s".formatted(lastExit, expected));
  }

  @Override
  public VcpuInterrupter interrupter() {
    if (!kicker.supported()) {
      throw kicker.unsupported();
    }
    return kicker;
  }

  boolean isClosed() {
    return closed.get();
  }

  /**
   * Frees the vCPU. From another thread during {@code run()}, interrupts the run and waits for it
   * to return (the run returns {@code Cancelled}); if it does not within 10 seconds, throws and
   * leaves the mapping in place rather than unmapping memory a thread still uses.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (!kicker.closeAndAwaitIdle()) {
      throw new IllegalStateException(
          describe()
              + " is still running 10 s after close(); its kvm_run mapping is left in place");
    }
    if (dirtyRing != null) {
      partition.detachDirtyRing(); // from now on only this thread can reach the ring
      KvmErrors.released(dirtyRing.unmap(), "munmap", describe() + " dirty ring");
    }
    KvmErrors.released(Libc.munmap(run.address(), runSize), "munmap", describe() + " kvm_run");
    KvmErrors.released(Libc.close(fd), "close", describe() + " fd " + fd);
  }

  @Override
  public String toString() {
    return "KvmVcpu[partition '" + partition.label() + "'" + (closed.get() ? ", closed]" : "]");
  }
}
