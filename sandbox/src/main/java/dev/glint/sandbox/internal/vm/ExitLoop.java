package dev.glint.sandbox.internal.vm;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;

import dev.glint.hv.Registers;
import dev.glint.hv.VcpuExit;
import dev.glint.sandbox.internal.layout.FaultStubs;
import dev.glint.sandbox.internal.layout.MemoryPlan;
import dev.glint.sandbox.internal.wire.GuestRecords;
import dev.glint.sandbox.internal.wire.RecordEncoder;
import dev.glint.sandbox.internal.wire.WireCodec;
import dev.glint.sandbox.internal.wire.WireFormatException;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Runs the vCPU and dispatches its exits (ABI §7.1) until the guest signals the expected port or
 * fails: logs are logged, host calls answered, and anything else becomes a {@link Stop}. Not
 * thread-safe; one run at a time.
 */
public final class ExitLoop {
  /** READY: initialization done, function table in the output buffer. */
  public static final int READY = 0x100;

  /** RETURN: a call finished, return record in the output buffer. */
  public static final int RETURN = 0x101;

  /** HOST_CALL: host call record in the output buffer. */
  public static final int HOST_CALL = 0x102;

  /** LOG: log record in the output buffer. */
  public static final int LOG = 0x103;

  /** ABORT: abort record in the output buffer. */
  public static final int ABORT = 0x104;

  /** FAULT: registers hold the fault (from the host's stubs). */
  public static final int FAULT = FaultStubs.FAULT_PORT;

  private final GuestVm vm;
  private final HostFunctionTable hostFunctions;
  private final System.Logger guestLog;

  /**
   * Creates the loop.
   *
   * @param guestLog where the guest's log records go
   */
  public ExitLoop(GuestVm vm, HostFunctionTable hostFunctions, System.Logger guestLog) {
    this.vm = vm;
    this.hostFunctions = hostFunctions;
    this.guestLog = guestLog;
  }

  /**
   * What one run did.
   *
   * @param stop why it stopped
   * @param exits how many VM exits it took
   * @param hostFailures host calls answered with an error, in order
   */
  public record Result(Stop stop, int exits, List<HostCallFailure> hostFailures) {}

  /** The bytes after a call record kept free for host results (ABI §7.4). */
  public static final long HOST_RESULT_RESERVE = 16;

  /**
   * {@return the largest call record for an input buffer of {@code inputSize} bytes}: rounded up to
   * 8, it must leave {@link #HOST_RESULT_RESERVE} bytes free (ABI §7.4)
   */
  public static long maxCallRecordSize(long inputSize) {
    return (inputSize - HOST_RESULT_RESERVE) & -8L;
  }

  /** No deadline: {@link #run(int, long, long, BooleanSupplier)} runs until the guest stops. */
  public static final long NO_DEADLINE = Long.MAX_VALUE;

  /**
   * Runs until the guest signals {@code expectedPort} or fails, without a deadline.
   *
   * @param expectedPort {@link #READY} or {@link #RETURN}
   * @param callRecordSize the size of the call record in the input buffer (0 if none)
   */
  public Result run(int expectedPort, long callRecordSize) {
    return run(expectedPort, callRecordSize, NO_DEADLINE, () -> false);
  }

  /**
   * Runs until the guest signals {@code expectedPort} or fails.
   *
   * <p>A {@link VcpuExit.Cancelled} exit ends the run if {@code closing} says so or the deadline
   * has passed; otherwise it is a stale interrupt (a timer that fired just after an earlier run
   * ended, which the SPI keeps for the next run) and the guest simply runs on.
   *
   * @param expectedPort {@link #READY} or {@link #RETURN}
   * @param callRecordSize the size of the call record in the input buffer (0 if none): host results
   *     go after it, at the next multiple of 8
   * @param deadline the {@link System#nanoTime()} after which a cancelled run times out, or {@link
   *     #NO_DEADLINE}
   * @param closing whether the sandbox is being closed (a cancelled run then ends)
   */
  public Result run(int expectedPort, long callRecordSize, long deadline, BooleanSupplier closing) {
    return run(expectedPort, callRecordSize, deadline, closing, () -> false);
  }

  /**
   * Runs until the guest signals {@code expectedPort} or fails, as {@link #run(int, long, long,
   * BooleanSupplier)}; a cancelled run also ends if {@code interrupted} says this run was
   * interrupted on request.
   */
  public Result run(
      int expectedPort,
      long callRecordSize,
      long deadline,
      BooleanSupplier closing,
      BooleanSupplier interrupted) {
    long resultOffset = (callRecordSize + 7) & -8L;
    List<HostCallFailure> failures = new ArrayList<>(0);
    int exits = 0;
    while (true) {
      VcpuExit exit = vm.vcpu().run();
      exits++;
      Stop stop =
          switch (exit) {
            case VcpuExit.IoOut(int port, int size, long data) -> {
              if (port == expectedPort) {
                yield new Stop.Signalled();
              }
              yield switch (port) {
                case HOST_CALL -> hostCall(resultOffset, failures);
                case LOG -> log();
                case ABORT -> abort();
                case FAULT -> fault();
                case READY, RETURN ->
                    new Stop.Violation(
                        "the guest signalled %s on port 0x%x while the host waited for %s"
                            .formatted(portName(port), port, portName(expectedPort)));
                default ->
                    new Stop.Violation(
                        "the guest wrote to I/O port 0x%x, which is not a Glint port (0x100..0x105)"
                            .formatted(port));
              };
            }
            case VcpuExit.IoIn(int port, int size) ->
                new Stop.Violation(
                    "the guest read from I/O port 0x%x; the ABI has no input ports"
                        .formatted(port));
            case VcpuExit.MmioRead(long address, int size) ->
                new Stop.Violation(
                    "the guest read %d bytes of unbacked guest-physical address 0x%x"
                        .formatted(size, address));
            case VcpuExit.MmioWrite(long address, int size, long data) ->
                new Stop.Violation(
                    "the guest wrote %d bytes to unbacked guest-physical address 0x%x"
                        .formatted(size, address));
            case VcpuExit.Halt() ->
                new Stop.Violation(
                    "the guest executed hlt at RIP 0x%x; a guest ends a call by signalling RETURN"
                        .formatted(vm.vcpu().registers().rip()));
            case VcpuExit.Shutdown() -> new Stop.Faulted(FaultReport.tripleFault());
            case VcpuExit.Cancelled() -> cancelled(deadline, closing, interrupted);
            case VcpuExit.FailEntry(long reason, String description) ->
                new Stop.Violation(
                    "the hypervisor refused to enter the guest (reason 0x%x: %s)"
                        .formatted(reason, description));
            case VcpuExit.InternalError(long code, String description) ->
                new Stop.Violation(
                    "the hypervisor could not run the guest (internal error %d: %s)"
                        .formatted(code, description));
            case VcpuExit.Unknown(long raw, String description) ->
                new Stop.Violation(
                    "the hypervisor stopped the guest for an unknown reason (%d: %s)"
                        .formatted(raw, description));
          };
      if (stop != null) {
        return new Result(stop, exits, List.copyOf(failures));
      }
    }
  }

  /** Decides what a cancelled run means; returns null to go on. */
  private static Stop cancelled(
      long deadline, BooleanSupplier closing, BooleanSupplier interrupted) {
    if (closing.getAsBoolean()) {
      return new Stop.Violation("the sandbox was closed while the guest ran");
    }
    if (interrupted.getAsBoolean()) {
      return new Stop.Interrupted();
    }
    if (deadline != NO_DEADLINE && System.nanoTime() - deadline >= 0) {
      return new Stop.TimedOut();
    }
    return null;
  }

  /** Answers a host call; returns null to go on, or a violation. */
  private Stop hostCall(long resultOffset, List<HostCallFailure> failures) {
    GuestRecords.HostCall call;
    try {
      call = WireCodec.decodeHostCall(vm.output());
    } catch (WireFormatException e) {
      return new Stop.Violation("bad host call record: " + e.getMessage());
    }
    hostFunctions.answer(call, vm.input(), resultOffset).ifPresent(failures::add);
    // The record the host just wrote there says how far it reaches (the guest has not run since).
    long length =
        vm.input().byteSize() - resultOffset >= RecordEncoder.HEADER_SIZE
            ? Integer.toUnsignedLong(vm.input().get(JAVA_INT_UNALIGNED, resultOffset + 4))
            : 0;
    vm.noteInputWritten(resultOffset + RecordEncoder.HEADER_SIZE + length);
    return null;
  }

  private Stop log() {
    GuestRecords.Log record;
    try {
      record = WireCodec.decodeLog(vm.output());
    } catch (WireFormatException e) {
      return new Stop.Violation("bad log record: " + e.getMessage());
    }
    Level level =
        switch (record.level()) {
          case 1 -> Level.ERROR;
          case 2 -> Level.WARNING;
          case 3 -> Level.INFO;
          case 4 -> Level.DEBUG;
          default -> Level.TRACE;
        };
    guestLog.log(level, record.message());
    return null;
  }

  private Stop abort() {
    try {
      GuestRecords.Abort record = WireCodec.decodeAbort(vm.output());
      return new Stop.Aborted(record.code(), record.message());
    } catch (WireFormatException e) {
      return new Stop.Violation("the guest aborted with a bad abort record: " + e.getMessage());
    }
  }

  private Stop fault() {
    Registers r = vm.vcpu().registers();
    // A CPL-3 guest may use port 0x105 itself (the TSS allows 0x100..0x10F): only a report from
    // the host's stub page is a fault; anything else is the guest forging one.
    long stubPage = MemoryPlan.FAULT_STUB_ADDRESS;
    if (r.rip() < stubPage
        || r.rip() >= stubPage + MemoryPlan.PAGE
        || r.rax() < 0
        || r.rax() > 31) {
      return new Stop.Violation(
          "the guest signalled FAULT from RIP 0x%x, outside the host's fault stubs"
              .formatted(r.rip()));
    }
    return new Stop.Faulted(
        new FaultReport((int) r.rax(), r.rbx(), r.rcx(), r.r8(), r.rsi(), r.rdi()));
  }

  private static String portName(int port) {
    return switch (port) {
      case READY -> "READY";
      case RETURN -> "RETURN";
      default -> "port 0x%x".formatted(port);
    };
  }
}
