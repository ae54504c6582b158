package dev.glint.differential;

import dev.glint.differential.internal.GuestLayout;
import dev.glint.hv.Capability;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.MemoryFlag;
import dev.glint.hv.Partition;
import dev.glint.hv.PartitionConfig;
import dev.glint.hv.Registers;
import dev.glint.hv.Vcpu;
import dev.glint.hv.VcpuExit;
import dev.glint.hv.VcpuInterrupter;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One backend's guest for differential cases: a partition with the {@link GuestLayout}, reused from
 * case to case (the host rewrites code, data, registers and XMM state before each). Not
 * thread-safe.
 *
 * <p>Whatever the backend does, {@link #run} returns an {@link Outcome}: an exception from the
 * backend or a run that does not stop within {@link #RUN_LIMIT_MILLIS} becomes a {@link
 * GuestEvent.Stopped} event (the guest must never make the host throw or hang), and the partition
 * is then rebuilt for the next case.
 */
final class Machine implements AutoCloseable {
  /** How long one {@code run()} may take before the watchdog cancels it. */
  static final long RUN_LIMIT_MILLIS = 5_000;

  /** The most exits a case may cause. */
  static final int MAX_EVENTS = 64;

  private final Hypervisor hypervisor;
  private final ScheduledExecutorService watchdog;
  private GuestMemory ram;
  private Partition partition;
  private Vcpu vcpu;

  /**
   * Creates the guest.
   *
   * @param hypervisor the backend, open; not closed by this machine
   * @param watchdog runs the cancellations of runs that take too long
   */
  public Machine(Hypervisor hypervisor, ScheduledExecutorService watchdog) {
    this.hypervisor = hypervisor;
    this.watchdog = watchdog;
    build();
  }

  private void build() {
    ram = hypervisor.allocateMemory(GuestLayout.RAM_SIZE);
    try {
      partition = hypervisor.createPartition(new PartitionConfig("differential"));
      partition.map(0, ram.segment(), MemoryFlag.READ_WRITE_EXECUTE);
      vcpu = partition.createVcpu();
    } catch (RuntimeException | Error e) {
      close();
      throw e;
    }
    GuestLayout.writeSystemTables(ram.segment());
  }

  /** {@return the backend's name} */
  public String name() {
    return hypervisor.name();
  }

  /** Runs {@code testCase} from its start state and returns how it ended. */
  public Outcome run(TestCase testCase) {
    List<GuestEvent> events = new ArrayList<>();
    try {
      return execute(testCase, events);
    } catch (RuntimeException e) {
      events.add(new GuestEvent.Stopped("the backend threw " + e));
      Outcome outcome = new Outcome(events, testCase.registers(), new byte[0], 0, new byte[0]);
      close();
      build();
      return outcome;
    }
  }

  private Outcome execute(TestCase testCase, List<GuestEvent> events) {
    MemorySegment memory = ram.segment();
    byte[] code = testCase.code();
    MemorySegment codePage = memory.asSlice(GuestLayout.CODE, GuestLayout.CODE_SIZE);
    for (long at = 0; at < GuestLayout.CODE_SIZE; at += 2) {
      codePage.set(ValueLayout.JAVA_SHORT_UNALIGNED, at, (short) 0x0B0F); // ud2
    }
    MemorySegment.copy(code, 0, codePage, ValueLayout.JAVA_BYTE, 0, code.length);
    GuestLayout.fillUserPages(memory, testCase.dataSeed());
    memory.asSlice(GuestLayout.KERNEL_STACK, 0x1000).fill((byte) 0);

    vcpu.setSpecialRegisters(GuestLayout.userMode());
    vcpu.setRegisters(testCase.registers());

    Registers end = null;
    int reads = 0;
    while (end == null) {
      if (events.size() >= MAX_EVENTS) {
        events.add(new GuestEvent.Stopped("more than %d exits".formatted(MAX_EVENTS)));
        end = vcpu.registers();
        break;
      }
      VcpuExit exit = runWatched();
      switch (exit) {
        case VcpuExit.IoOut(int port, int size, long data) when port == GuestLayout.DONE_PORT -> {
          events.add(new GuestEvent.Done());
          vcpu.settle();
          end = vcpu.registers();
        }
        case VcpuExit.IoOut(int port, int size, long vector)
            when port == GuestLayout.FAULT_PORT && isCpl0() -> {
          end = faultFrame(memory, (int) vector, events);
        }
        case VcpuExit.IoOut(int port, int size, long data) ->
            events.add(new GuestEvent.PortOut(port, size, data));
        case VcpuExit.IoIn(int port, int size) -> {
          events.add(new GuestEvent.PortIn(port, size));
          vcpu.completeIoIn(portValue(port, reads++));
        }
        default -> {
          events.add(new GuestEvent.Stopped(exit.toString()));
          end = vcpu.registers();
        }
      }
    }
    byte[] xmm = new byte[0];
    int mxcsr = 0;
    if (testCase.sse() && events.getLast() instanceof GuestEvent.Done) {
      // The epilogue stored them; after a fault they are not compared.
      xmm = memory.asSlice(GuestLayout.XMM_AREA, 256).toArray(ValueLayout.JAVA_BYTE);
      mxcsr = memory.get(ValueLayout.JAVA_INT_UNALIGNED, GuestLayout.MXCSR_SLOT);
    }
    byte[] compared =
        memory
            .asSlice(GuestLayout.COMPARED_START, GuestLayout.COMPARED_SIZE)
            .toArray(ValueLayout.JAVA_BYTE);
    return new Outcome(events, end, xmm, mxcsr, compared);
  }

  /** {@return the value the host answers to the {@code n}-th {@code in} of a case} */
  public static long portValue(int port, int n) {
    return 0x9E37_79B9_7F4A_7C15L * (n + 1) ^ (long) port << 8 ^ 0x5A;
  }

  private boolean isCpl0() {
    return vcpu.specialRegisters().cpl() == 0;
  }

  /** Reads the frame the fault stub left and rebuilds the user registers at the fault. */
  private Registers faultFrame(MemorySegment memory, int vector, List<GuestEvent> events) {
    long top = GuestLayout.KERNEL_STACK_TOP;
    long rip = memory.get(ValueLayout.JAVA_LONG_UNALIGNED, top - GuestLayout.FRAME_RIP);
    long errorCode =
        memory.get(ValueLayout.JAVA_LONG_UNALIGNED, top - GuestLayout.FRAME_ERROR_CODE);
    long cr2 = memory.get(ValueLayout.JAVA_LONG_UNALIGNED, top - GuestLayout.FRAME_CR2);
    events.add(new GuestEvent.Fault(vector, errorCode, rip, vector == 14 ? cr2 : 0));
    Registers atStub = vcpu.registers();
    long[] values = atStub.toArray();
    values[dev.glint.hv.Register.RAX.ordinal()] =
        memory.get(ValueLayout.JAVA_LONG_UNALIGNED, top - GuestLayout.FRAME_RAX);
    values[dev.glint.hv.Register.RSP.ordinal()] =
        memory.get(ValueLayout.JAVA_LONG_UNALIGNED, top - GuestLayout.FRAME_RSP);
    values[dev.glint.hv.Register.RIP.ordinal()] = rip;
    values[dev.glint.hv.Register.RFLAGS.ordinal()] =
        memory.get(ValueLayout.JAVA_LONG_UNALIGNED, top - GuestLayout.FRAME_RFLAGS)
            | Registers.RFLAGS_RESERVED;
    return Registers.fromArray(values);
  }

  /** Runs once, with the watchdog armed where the backend can cancel a run. */
  private VcpuExit runWatched() {
    if (!hypervisor.has(Capability.CANCEL)) {
      return vcpu.run();
    }
    VcpuInterrupter interrupter = vcpu.interrupter();
    ScheduledFuture<?> alarm =
        watchdog.schedule(interrupter::interrupt, RUN_LIMIT_MILLIS, TimeUnit.MILLISECONDS);
    try {
      VcpuExit exit = vcpu.run();
      if (exit instanceof VcpuExit.Cancelled) {
        return new VcpuExit.Unknown(
            -1, "no exit within %d ms: the watchdog cancelled the run".formatted(RUN_LIMIT_MILLIS));
      }
      return exit;
    } finally {
      alarm.cancel(false);
    }
  }

  @Override
  public void close() {
    try {
      if (partition != null) {
        partition.close();
      }
    } finally {
      partition = null;
      vcpu = null;
      if (ram != null) {
        ram.close();
        ram = null;
      }
    }
  }
}
