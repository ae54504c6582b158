package dev.glint.sandbox;

import dev.glint.hv.Capability;
import dev.glint.hv.FpuState;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.MemoryImage;
import dev.glint.hv.Registers;
import dev.glint.hv.SpecialRegisters;
import dev.glint.hv.Vcpu;
import dev.glint.hv.VcpuInterrupter;
import dev.glint.hv.spi.HypervisorProvider;
import dev.glint.sandbox.internal.events.GuestCallEvent;
import dev.glint.sandbox.internal.events.SandboxRestoredEvent;
import dev.glint.sandbox.internal.vm.CallTimer;
import dev.glint.sandbox.internal.vm.ExitLoop;
import dev.glint.sandbox.internal.vm.GuestVm;
import dev.glint.sandbox.internal.vm.Stop;
import dev.glint.sandbox.internal.wire.FunctionSignature;
import dev.glint.sandbox.internal.wire.GuestRecords;
import dev.glint.sandbox.internal.wire.RecordEncoder;
import dev.glint.sandbox.internal.wire.WireCodec;
import dev.glint.sandbox.internal.wire.WireFormatException;
import dev.glint.sandbox.internal.wire.WireType;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiFunction;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * One guest program in its own hardware-isolated micro-VM, ready to have its functions called.
 *
 * {@snippet :
 * try (Sandbox sandbox = Sandbox.builder().guest(Path.of("hello.elf")).build()) {
 *   int written = sandbox.call("PrintOutput", ValueType.I32, "Hello, Glint!");
 * }
 * }
 *
 * <p><b>Thread safety:</b> a sandbox is not for concurrent use, but it is safe to share: calls from
 * several threads serialize (one waits while another runs). Call from platform threads; a virtual
 * thread pins its carrier for the duration of a call. A host function runs on the calling thread
 * and must not call back into its own sandbox.
 *
 * <p><b>Ownership:</b> the caller of {@link Builder#build()} owns the sandbox and must close it;
 * the sandbox owns its VM, its guest memory and its open hypervisor, and {@link #close()} frees
 * them all. Close is idempotent; {@link #call} then throws {@link IllegalStateException}.
 *
 * <p><b>Failures:</b> a call throws a {@link SandboxException} subtype that says what went wrong.
 * After a fault, an abort, a timeout or a protocol violation the sandbox is <em>poisoned</em> and
 * refuses further calls with {@link SandboxPoisonedException}; close it and build a new one.
 */
public final class Sandbox implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger("dev.glint.sandbox");

  private final HypervisorProvider provider;
  private final Hypervisor hypervisor;
  private final GuestVm vm;
  private final ExitLoop exitLoop;
  private final PrivilegeLevel privilegeLevel;
  private final List<FunctionSignature> table;
  private final Map<String, FunctionSignature> signatures;
  private final List<GuestFunction> functions;
  private final ReentrantLock lock = new ReentrantLock();
  private final VcpuInterrupter interrupter;
  private final Duration callTimeout;
  private final boolean restoreAfterEachCall;
  private volatile boolean closed;
  // Written only under the lock; volatile so isPoisoned() need not wait for a running call.
  private volatile SandboxException poison;

  // Guarded by the lock. The snapshot whose image the memory is a clone of (a restore to it resets
  // only written pages), and the one every call starts from when restoreAfterEachCall is set.
  private Snapshot base;
  private Snapshot pristine;
  private boolean ownsPristine;
  private long callCount;

  /** The id of the call running now (0 when none), and of the last one interrupt() stopped. */
  private volatile long runningCall;

  private volatile long interruptedCall;

  Sandbox(
      HypervisorProvider provider,
      Hypervisor hypervisor,
      GuestVm vm,
      ExitLoop exitLoop,
      PrivilegeLevel privilegeLevel,
      List<FunctionSignature> table,
      Duration callTimeout,
      boolean restoreAfterEachCall) {
    this.provider = provider;
    this.hypervisor = hypervisor;
    this.vm = vm;
    this.exitLoop = exitLoop;
    this.privilegeLevel = privilegeLevel;
    this.table = List.copyOf(table);
    this.signatures =
        table.stream()
            .collect(
                java.util.stream.Collectors.toUnmodifiableMap(FunctionSignature::name, s -> s));
    this.functions = table.stream().map(Sandbox::toPublic).toList();
    this.interrupter = hypervisor.has(Capability.CANCEL) ? vm.vcpu().interrupter() : null;
    this.callTimeout = callTimeout;
    this.restoreAfterEachCall = restoreAfterEachCall;
  }

  /**
   * Sets where the sandbox starts: {@code from} is the snapshot its memory is a clone of (or null),
   * {@code pristine} the snapshot each call starts from in restore-after-each-call mode (or null).
   * Called once by the factory before the sandbox is published.
   */
  void startingPoint(Snapshot from, Snapshot pristine, boolean ownsPristine) {
    this.base = from;
    this.pristine = pristine;
    this.ownsPristine = ownsPristine;
  }

  /** {@return a new builder; see {@link Builder} for the defaults} */
  public static Builder builder() {
    return new Builder();
  }

  /** {@return the functions the guest exports, in the order of its function table} */
  public List<GuestFunction> functions() {
    return functions;
  }

  /** {@return the privilege level the guest's functions run at} */
  public PrivilegeLevel privilegeLevel() {
    return privilegeLevel;
  }

  /** {@return the hypervisor backend's name, such as "kvm"} */
  public String backend() {
    return hypervisor.name();
  }

  /** {@return whether an earlier failure poisoned the sandbox} */
  public boolean isPoisoned() {
    return poison != null;
  }

  /**
   * Calls the guest function {@code name} with {@code arguments} and returns its result.
   *
   * <p>The name, the argument types (see {@link ValueType} for the Java types) and {@code
   * returnType} are checked against the guest's function table, and the encoded call against the
   * input buffer, before anything is written: such failures leave the sandbox usable.
   *
   * @param name the guest function's name
   * @param returnType the function's declared return type ({@link ValueType#VOID} for none)
   * @param arguments one Java value per parameter, of the parameter's Java type
   * @param <T> the Java type of the result
   * @return the result; {@code null} for void
   * @throws GuestFunctionNotFoundException if the guest exports no function {@code name}
   * @throws TypeMismatchException if the argument count or types, or {@code returnType}, do not
   *     match the function's signature
   * @throws ArgumentTooLargeException if the encoded call does not fit in the input buffer
   * @throws GuestErrorException if the guest function returned an error
   * @throws GuestFaultException if the guest faulted (the sandbox is then poisoned)
   * @throws GuestAbortedException if the guest aborted (the sandbox is then poisoned)
   * @throws CallTimeoutException if the call ran past the {@linkplain Builder#callTimeout call
   *     timeout} (the sandbox is then poisoned)
   * @throws ProtocolViolationException if the guest broke the protocol (the sandbox is then
   *     poisoned)
   * @throws SandboxPoisonedException if an earlier call poisoned the sandbox
   * @throws IllegalArgumentException if a string argument holds an unpaired surrogate (it has no
   *     UTF-8 form)
   * @throws IllegalStateException if the sandbox is closed, or a host function of this sandbox
   *     calls back into it
   * @throws dev.glint.hv.HypervisorException if the hypervisor fails (the sandbox is then poisoned)
   */
  public <T> T call(String name, ValueType<T> returnType, Object... arguments) {
    return call(callTimeout, name, returnType, arguments);
  }

  /**
   * Calls the guest function {@code name} as {@link #call(String, ValueType, Object...)} does, with
   * {@code timeout} as this call's time limit in place of the {@linkplain Builder#callTimeout
   * builder's}.
   *
   * @param timeout the longest this call may run, 1 ms to 1 day; null for no limit
   * @param name the guest function's name
   * @param returnType the function's declared return type ({@link ValueType#VOID} for none)
   * @param arguments one Java value per parameter, of the parameter's Java type
   * @param <T> the Java type of the result
   * @return the result; {@code null} for void
   * @throws CallTimeoutException if the call ran past {@code timeout} (the sandbox is then
   *     poisoned, until a {@linkplain #restore restore})
   * @throws IllegalArgumentException if {@code timeout} is out of range
   * @throws dev.glint.hv.MissingCapabilityException if the backend cannot stop a running guest
   * @see #call(String, ValueType, Object...) the other exceptions
   */
  public <T> T call(Duration timeout, String name, ValueType<T> returnType, Object... arguments) {
    if (timeout != null && timeout != callTimeout) {
      SandboxConfig.checkTimeout(timeout);
      if (interrupter == null) {
        throw new dev.glint.hv.MissingCapabilityException(
            hypervisor.name(), Capability.CANCEL, "a call timeout (stopping a running guest)");
      }
    }
    java.util.Objects.requireNonNull(name, "name");
    java.util.Objects.requireNonNull(returnType, "returnType");
    java.util.Objects.requireNonNull(arguments, "arguments");
    if (lock.isHeldByCurrentThread()) {
      throw new IllegalStateException(
          "a host function called back into its own sandbox (calling '%s'); host functions may"
                  .formatted(name)
              + " not call guest functions");
    }
    GuestCallEvent event = new GuestCallEvent();
    event.begin();
    event.function = name;
    event.outcome = "refused";
    lock.lock();
    try {
      checkOpen();
      if (poison != null) {
        throw Failures.poisoned(poison);
      }
      FunctionSignature signature = signature(name, returnType, arguments);
      RecordEncoder record;
      try {
        record = WireCodec.encodeCall(signature, Arrays.asList(arguments));
      } catch (IllegalArgumentException e) {
        // Types were checked above; what remains is a value without an encoding.
        throw new IllegalArgumentException(
            "cannot encode the arguments of %s: %s".formatted(signature, e.getMessage()), e);
      }
      long limit = ExitLoop.maxCallRecordSize(vm.input().byteSize());
      if (record.size() > limit) {
        throw new ArgumentTooLargeException(
            ("the call of %s encodes to %d bytes, but a call may take at most %d of the %d-byte"
                    + " input buffer (16 stay free for host results); pass less data or enlarge"
                    + " the buffer with Sandbox.Builder.inputBufferSize")
                .formatted(signature, record.size(), limit, vm.input().byteSize()),
            record.size(),
            limit);
      }
      boolean ran = false;
      try {
        record.writeTo(vm.input(), 0);
        vm.noteInputWritten(record.size());
        ran = true;
        ExitLoop.Result result;
        long id = ++callCount;
        runningCall = id;
        try {
          result = run(record.size(), timeout, id);
        } catch (RuntimeException | Error e) {
          // The guest's state is unknown after the hypervisor failed: refuse further calls.
          poison = new ProtocolViolationException("the hypervisor failed during the call", e);
          event.outcome = "hypervisor failure";
          throw e;
        } finally {
          runningCall = 0;
        }
        event.exits = result.exits();
        Object value = finish(signature, result, "call of '%s'".formatted(name), timeout, event);
        event.outcome = "ok";
        return returnType.cast(value);
      } finally {
        if (ran && restoreAfterEachCall) {
          restoreAfterCall();
        }
      }
    } finally {
      lock.unlock();
      event.commit();
    }
  }

  /** Runs the call, under {@code timeout} if not null. */
  private ExitLoop.Result run(long callRecordSize, Duration timeout, long id) {
    BooleanSupplier interrupted = () -> interruptedCall == id;
    if (timeout == null) {
      return exitLoop.run(
          ExitLoop.RETURN, callRecordSize, ExitLoop.NO_DEADLINE, this::isClosing, interrupted);
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    ScheduledFuture<?> timer = CallTimer.schedule(interrupter::interrupt, timeout);
    try {
      return exitLoop.run(ExitLoop.RETURN, callRecordSize, deadline, this::isClosing, interrupted);
    } finally {
      // If the timer fired just after the run ended, its interrupt is kept for the next run,
      // which sees that its own deadline has not passed and runs on (see ExitLoop.run).
      timer.cancel(false);
    }
  }

  /** In restore-after-each-call mode: back to the pristine snapshot; a failure poisons. */
  private void restoreAfterCall() {
    try {
      restoreLocked(pristine);
    } catch (RuntimeException e) {
      LOG.log(
          System.Logger.Level.WARNING, "restore after a call failed; the sandbox is poisoned", e);
    }
  }

  /**
   * Stops the call running now, from any thread: the call throws {@link
   * ExecutionCancelledException} and the sandbox is poisoned until a {@linkplain #restore restore}
   * (in {@linkplain Builder#restoreAfterEachCall restore-after-each-call mode} it is restored at
   * once). Does nothing if no call is running; a later call is not affected. A host function that
   * blocks is not interrupted; the call stops when it returns.
   *
   * @throws dev.glint.hv.MissingCapabilityException if the backend cannot stop a running guest
   */
  public void interrupt() {
    if (interrupter == null) {
      throw new dev.glint.hv.MissingCapabilityException(
          hypervisor.name(), Capability.CANCEL, "interrupting a call (stopping a running guest)");
    }
    long id = runningCall;
    if (id != 0) {
      interruptedCall = id;
      interrupter.interrupt();
    }
  }

  /**
   * {@return a handle that stops this sandbox's running call from any thread} It can be given to
   * code that must not call the sandbox itself; see {@link #interrupt()}.
   *
   * @throws dev.glint.hv.MissingCapabilityException if the backend cannot stop a running guest
   */
  public InterruptHandle interruptHandle() {
    if (interrupter == null) {
      throw new dev.glint.hv.MissingCapabilityException(
          hypervisor.name(), Capability.CANCEL, "interrupting a call (stopping a running guest)");
    }
    return this::interrupt;
  }

  /**
   * Captures the sandbox's state now, memory and vCPU, as a {@link Snapshot} that {@link
   * #restore(Snapshot)} returns this or another sandbox of the same guest and layout to, and that
   * new sandboxes can start from ({@link Builder#snapshot(Snapshot)}).
   *
   * <p>Costs a copy of the written guest memory (all-zero pages are skipped). Afterwards the
   * sandbox runs on a copy-on-write clone of the snapshot, so that a restore to it costs in
   * proportion to the pages written since, not to the memory size.
   *
   * @return the snapshot; the caller owns it and must close it
   * @throws SandboxPoisonedException if the sandbox is poisoned (restore it first)
   * @throws IllegalStateException if the sandbox is closed, or called by a host function
   * @throws dev.glint.hv.HypervisorException if the backend fails (the sandbox is then poisoned)
   */
  public Snapshot snapshot() {
    refuseFromHostFunction("take a snapshot of");
    lock.lock();
    try {
      checkOpen();
      if (poison != null) {
        throw Failures.poisoned(poison);
      }
      return capture();
    } finally {
      lock.unlock();
    }
  }

  /** Takes a snapshot and moves the sandbox onto a clone of it. Under the lock. */
  Snapshot capture() {
    Vcpu vcpu = vm.vcpu();
    vcpu.settle();
    Registers registers = vcpu.registers();
    SpecialRegisters specialRegisters = vcpu.specialRegisters();
    FpuState fpu = hypervisor.has(Capability.FPU_STATE) ? vcpu.fpuState() : null;
    Hypervisor owner = provider.open();
    Snapshot snapshot;
    try {
      MemoryImage image = owner.createImage(vm.memory().segment());
      snapshot =
          new Snapshot(
              owner, image, vm.plan(), privilegeLevel, table, registers, specialRegisters, fpu);
    } catch (RuntimeException | Error e) {
      owner.close();
      throw e;
    }
    try {
      moveOnto(snapshot);
    } catch (RuntimeException | Error e) {
      snapshot.close();
      throw e;
    }
    return snapshot;
  }

  /** Replaces the memory with a fresh clone of {@code snapshot}'s image. */
  private void moveOnto(Snapshot snapshot) {
    GuestMemory clone = hypervisor.allocateMemory(snapshot.image());
    try {
      vm.replaceMemory(clone);
    } catch (RuntimeException | Error e) {
      clone.close();
      poison = new ProtocolViolationException("replacing guest memory failed", e);
      throw e;
    }
    base = snapshot;
  }

  /**
   * Returns the sandbox to {@code snapshot}'s state: memory, registers, special registers and,
   * where the snapshot {@linkplain Snapshot#includesFpuState has them}, FPU/SSE registers. Clears
   * poisoning: a sandbox that faulted, aborted, timed out or was interrupted works again.
   *
   * <p>A restore to the snapshot this sandbox was started from or last took costs in proportion to
   * the pages written since (with dirty-page tracking; otherwise to the memory size, see {@link
   * dev.glint.hv.MemoryImage}); to any other snapshot of the same guest, a fresh clone.
   *
   * @param snapshot a snapshot of this sandbox, or of another one of the same guest, layout,
   *     privilege level and backend
   * @throws IllegalArgumentException if the snapshot does not fit this sandbox
   * @throws IllegalStateException if the sandbox or the snapshot is closed, or called by a host
   *     function
   * @throws dev.glint.hv.HypervisorException if the backend fails (the sandbox stays poisoned)
   */
  public void restore(Snapshot snapshot) {
    java.util.Objects.requireNonNull(snapshot, "snapshot");
    refuseFromHostFunction("restore");
    lock.lock();
    try {
      checkOpen();
      restoreLocked(snapshot);
    } finally {
      lock.unlock();
    }
  }

  private void restoreLocked(Snapshot snapshot) {
    // A clone resets to its image's bytes even after the image was closed: only a restore that
    // needs a new clone needs the snapshot open.
    boolean resettable =
        base == snapshot && vm.memory().image().orElse(null) == snapshot.imageEvenIfClosed();
    if (!resettable) {
      snapshot.image(); // checks it is open
    }
    String mismatch = snapshot.incompatibility(hypervisor.name(), vm.plan(), privilegeLevel, table);
    if (mismatch != null) {
      throw new IllegalArgumentException("cannot restore " + snapshot + ": " + mismatch);
    }
    SandboxRestoredEvent event = new SandboxRestoredEvent();
    event.begin();
    event.wasPoisoned = poison != null;
    try {
      Vcpu vcpu = vm.vcpu();
      // First, so that no completion of the last exit lands in the restored registers.
      vcpu.settle();
      if (resettable) {
        event.pagesReset = vm.resetToImage();
      } else {
        moveOnto(snapshot);
        event.pagesReset = -1;
      }
      // Special registers rarely change in a call (CR2 on a fault): set them only then.
      if (!vcpu.specialRegisters().equals(snapshot.specialRegisters())) {
        vcpu.setSpecialRegisters(snapshot.specialRegisters());
      }
      vcpu.setRegisters(snapshot.registers());
      if (snapshot.fpu() != null && hypervisor.has(Capability.FPU_STATE)) {
        vcpu.setFpuState(snapshot.fpu());
      }
      poison = null;
      event.commit();
    } catch (RuntimeException | Error e) {
      poison = new ProtocolViolationException("restoring a snapshot failed", e);
      throw e;
    }
  }

  /** {@return the vCPU's registers, settled} For tests in this package. */
  Registers vcpuRegisters() {
    lock.lock();
    try {
      vm.vcpu().settle();
      return vm.vcpu().registers();
    } finally {
      lock.unlock();
    }
  }

  /** {@return the vCPU's special registers} For tests in this package. */
  SpecialRegisters vcpuSpecialRegisters() {
    lock.lock();
    try {
      return vm.vcpu().specialRegisters();
    } finally {
      lock.unlock();
    }
  }

  private void refuseFromHostFunction(String action) {
    if (lock.isHeldByCurrentThread()) {
      throw new IllegalStateException(
          "a host function cannot %s its own sandbox while the guest is calling it"
              .formatted(action));
    }
  }

  private boolean isClosing() {
    return closed;
  }

  private Object finish(
      FunctionSignature signature,
      ExitLoop.Result result,
      String context,
      Duration timeout,
      GuestCallEvent event) {
    if (!(result.stop() instanceof Stop.Signalled)) {
      SandboxException failure =
          Failures.of(result.stop(), result.hostFailures(), context, timeout);
      poison = failure;
      event.outcome = outcome(failure);
      throw failure;
    }
    GuestRecords.Return decoded;
    try {
      decoded = WireCodec.decodeReturn(vm.output(), signature.returnType());
    } catch (WireFormatException e) {
      ProtocolViolationException failure =
          new ProtocolViolationException(
              "protocol violation during the %s: bad return record: %s"
                  .formatted(context, e.getMessage()),
              result.hostFailures().isEmpty()
                  ? null
                  : Failures.of(result.hostFailures().getFirst()));
      poison = failure;
      event.outcome = "protocol violation";
      throw failure;
    }
    return switch (decoded) {
      case GuestRecords.Returned(Object value) -> value;
      case GuestRecords.Failed(int code, String message) -> {
        event.outcome = "guest error";
        throw new GuestErrorException(
            "guest function %s returned error %d: %s".formatted(signature, code, message),
            code,
            message,
            result.hostFailures().isEmpty() ? null : Failures.of(result.hostFailures().getFirst()));
      }
    };
  }

  private static String outcome(SandboxException failure) {
    return switch (failure) {
      case GuestFaultException f -> "fault";
      case GuestAbortedException a -> "abort";
      case ProtocolViolationException p -> "protocol violation";
      case CallTimeoutException t -> "timeout";
      case ExecutionCancelledException c -> "interrupted";
      default -> "error";
    };
  }

  private FunctionSignature signature(String name, ValueType<?> returnType, Object[] arguments) {
    FunctionSignature signature = signatures.get(name);
    if (signature == null) {
      throw new GuestFunctionNotFoundException(
          name,
          "the guest exports no function '%s'; it exports %s"
              .formatted(name, functions.stream().map(GuestFunction::name).toList()));
    }
    if (signature.returnType().tag() != returnType.tag()) {
      throw new TypeMismatchException(
          "guest function %s returns %s, but the call expects %s"
              .formatted(signature, signature.returnType(), returnType));
    }
    List<WireType> parameters = signature.parameters();
    if (arguments.length != parameters.size()) {
      throw new TypeMismatchException(
          "guest function %s takes %d arguments, but the call passes %d"
              .formatted(signature, parameters.size(), arguments.length));
    }
    for (int i = 0; i < arguments.length; i++) {
      WireType type = parameters.get(i);
      if (!type.accepts(arguments[i])) {
        throw new TypeMismatchException(
            "argument %d of guest function %s must be a %s (%s), but is %s"
                .formatted(
                    i,
                    signature,
                    type,
                    type.javaClass().getSimpleName(),
                    arguments[i] == null ? "null" : arguments[i].getClass().getSimpleName()));
      }
    }
    return signature;
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the sandbox is closed");
    }
  }

  static GuestFunction toPublic(FunctionSignature signature) {
    return new GuestFunction(
        signature.name(),
        ValueType.ofTag(signature.returnType().tag()),
        signature.parameters().stream().<ValueType<?>>map(t -> ValueType.ofTag(t.tag())).toList());
  }

  /**
   * Frees the VM, its memory and the hypervisor. Idempotent. If a call is running on another
   * thread, it is stopped (where the backend can cancel a run; the call then throws {@link
   * ProtocolViolationException}) and close waits for it to end.
   *
   * @throws IllegalStateException if called by a host function of this sandbox during a call
   */
  @Override
  public void close() {
    if (lock.isHeldByCurrentThread()) {
      // Only a host function of this sandbox, on the calling thread, can get here.
      throw new IllegalStateException(
          "a host function cannot close its own sandbox while the guest is calling it");
    }
    if (closed) {
      return;
    }
    closed = true;
    if (!lock.tryLock()) {
      if (interrupter != null) {
        interrupter.interrupt();
      }
      lock.lock();
    }
    try {
      try {
        vm.close();
      } finally {
        try {
          hypervisor.close();
        } finally {
          if (ownsPristine) {
            pristine.close();
          }
        }
      }
      LOG.log(System.Logger.Level.DEBUG, "sandbox closed");
    } finally {
      lock.unlock();
    }
  }

  /**
   * Configures and builds a {@link Sandbox}. Every setter validates its argument at once and throws
   * {@link IllegalArgumentException} naming the value and the allowed range.
   *
   * <table class="striped">
   *   <caption>Settings and defaults</caption>
   *   <thead><tr><th>setting</th><th>default</th><th>range</th></tr></thead>
   *   <tbody>
   *     <tr><td>{@link #guest(Path) guest}</td><td>required</td><td>a Glint guest ELF (ABI §3)</td></tr>
   *     <tr><td>{@link #memorySize}</td><td>8 MiB</td><td>4 MiB .. 16 GiB, multiple of 2 MiB</td></tr>
   *     <tr><td>{@link #heapSize}</td><td>1 MiB</td><td>4 KiB .. 1 GiB, multiple of 4 KiB</td></tr>
   *     <tr><td>{@link #stackSize}</td><td>256 KiB</td><td>16 KiB .. 256 MiB, multiple of 4 KiB</td></tr>
   *     <tr><td>{@link #inputBufferSize}, {@link #outputBufferSize}</td><td>1 MiB + 64 KiB</td>
   *         <td>4 KiB .. 1 GiB, multiple of 4 KiB</td></tr>
   *     <tr><td>{@link #callTimeout}</td><td>none</td><td>1 ms .. 1 day</td></tr>
   *     <tr><td>{@link #privilegeLevel}</td><td>from the backend (see {@link PrivilegeLevel})</td>
   *         <td></td></tr>
   *     <tr><td>{@link #backend}</td><td>the system property {@code glint.backend}, else the best
   *         available</td><td></td></tr>
   *     <tr><td>host functions</td><td>{@code HostPrint(string) -> i32} printing to {@code
   *         System.out}</td><td>at most 256</td></tr>
   *   </tbody>
   * </table>
   *
   * <p>The heap, buffers, a guard page and the stack must fit in memory after the guest image;
   * {@link #build()} checks that.
   *
   * <p>Not thread-safe; a builder may build several sandboxes.
   */
  public static final class Builder {
    private final SandboxConfig.Mutable config = new SandboxConfig.Mutable();

    private Builder() {}

    /**
     * Sets the guest image to read from a file when {@link #build()} runs.
     *
     * @param elfFile the guest image file (a Glint guest ELF, ABI §3)
     * @return this builder
     */
    public Builder guest(Path elfFile) {
      config.guest(java.util.Objects.requireNonNull(elfFile, "elfFile"));
      return this;
    }

    /**
     * Sets the guest image; the array is copied.
     *
     * @param elfImage the guest image (a Glint guest ELF, ABI §3)
     * @return this builder
     */
    public Builder guest(byte[] elfImage) {
      config.guest(java.util.Objects.requireNonNull(elfImage, "elfImage").clone());
      return this;
    }

    /**
     * Sets the guest memory size in bytes: 4 MiB to 16 GiB, a multiple of 2 MiB.
     *
     * @param bytes the guest memory size in bytes
     * @return this builder
     * @throws IllegalArgumentException if out of range or not a multiple of 2 MiB
     */
    public Builder memorySize(long bytes) {
      config.layoutSet = true;
      config.memorySize = SandboxConfig.check("memory size", bytes, 4L << 20, 16L << 30, 2L << 20);
      return this;
    }

    /**
     * Sets the heap size in bytes: 4 KiB to 1 GiB, a multiple of 4 KiB.
     *
     * @param bytes the heap size in bytes
     * @return this builder
     * @throws IllegalArgumentException if out of range or not a multiple of 4 KiB
     */
    public Builder heapSize(long bytes) {
      config.layoutSet = true;
      config.heapSize = SandboxConfig.check("heap size", bytes, 4L << 10, 1L << 30, 4096);
      return this;
    }

    /**
     * Sets the stack size in bytes: 16 KiB to 256 MiB, a multiple of 4 KiB.
     *
     * @param bytes the stack size in bytes
     * @return this builder
     * @throws IllegalArgumentException if out of range or not a multiple of 4 KiB
     */
    public Builder stackSize(long bytes) {
      config.layoutSet = true;
      config.stackSize = SandboxConfig.check("stack size", bytes, 16L << 10, 256L << 20, 4096);
      return this;
    }

    /**
     * Sets the input buffer size in bytes (the largest encoded call): 4 KiB to 1 GiB, a multiple of
     * 4 KiB.
     *
     * @param bytes the input buffer size in bytes
     * @return this builder
     * @throws IllegalArgumentException if out of range or not a multiple of 4 KiB
     */
    public Builder inputBufferSize(long bytes) {
      config.layoutSet = true;
      config.inputSize = SandboxConfig.check("input buffer size", bytes, 4L << 10, 1L << 30, 4096);
      return this;
    }

    /**
     * Sets the output buffer size in bytes (the largest encoded result): 4 KiB to 1 GiB, a multiple
     * of 4 KiB.
     *
     * @param bytes the output buffer size in bytes
     * @return this builder
     * @throws IllegalArgumentException if out of range or not a multiple of 4 KiB
     */
    public Builder outputBufferSize(long bytes) {
      config.layoutSet = true;
      config.outputSize =
          SandboxConfig.check("output buffer size", bytes, 4L << 10, 1L << 30, 4096);
      return this;
    }

    /**
     * Limits how long one call may run, host functions included: 1 ms to 1 day. A call that runs
     * longer is stopped and throws {@link CallTimeoutException}, and the sandbox is poisoned. The
     * guest's initialization in {@link #build()} has the same limit. A host function that blocks is
     * not interrupted; the call stops when it returns. By default calls have no time limit.
     *
     * @param timeout the longest one call may run
     * @return this builder
     * @throws IllegalArgumentException if out of range
     */
    public Builder callTimeout(Duration timeout) {
      config.callTimeout = SandboxConfig.checkTimeout(timeout);
      return this;
    }

    /**
     * Starts the sandbox from {@code snapshot} instead of a guest image: memory and vCPU state are
     * the snapshot's (shared copy-on-write with it where the backend can), and the guest's
     * initialization does not run again. The guest, memory sizes, privilege level and backend come
     * from the snapshot and must not be set; host functions, the print sink and the call timeout
     * are this builder's. The snapshot must stay open until {@link #build()} returns.
     *
     * @param snapshot an open snapshot
     * @return this builder
     */
    public Builder snapshot(Snapshot snapshot) {
      config.snapshot = java.util.Objects.requireNonNull(snapshot, "snapshot");
      return this;
    }

    /**
     * Makes every call start from the pristine state: after each call that ran guest code, whether
     * it returned or failed, the sandbox is restored to the state it had when built (or to the
     * {@linkplain #snapshot snapshot} it was built from). Nothing a call writes survives into the
     * next, and a fault, timeout or interrupt does not poison the sandbox. Off by default.
     *
     * @param enabled whether to restore after each call
     * @return this builder
     */
    public Builder restoreAfterEachCall(boolean enabled) {
      config.restoreAfterEachCall = enabled;
      return this;
    }

    /**
     * Chooses the privilege level of the guest's functions instead of the backend's default.
     *
     * @param level the privilege level of the guest's functions
     * @return this builder
     */
    public Builder privilegeLevel(PrivilegeLevel level) {
      config.privilegeLevel = java.util.Objects.requireNonNull(level, "level");
      return this;
    }

    /**
     * Chooses the hypervisor backend by name, such as "kvm", instead of the system property {@code
     * glint.backend} or the best available one.
     *
     * @param name the backend's name, as {@code HypervisorProvider.name()} gives it
     * @return this builder
     */
    public Builder backend(String name) {
      config.backend = java.util.Objects.requireNonNull(name, "name");
      return this;
    }

    /**
     * Sends the default {@code HostPrint} function's text to {@code sink} instead of {@code
     * System.out}. The sink is called on the calling thread, once per {@code HostPrint} call, with
     * the guest's text as it is (no newline added).
     *
     * @param sink receives the text of each {@code HostPrint} call
     * @return this builder
     */
    public Builder printTo(Consumer<String> sink) {
      config.printSink = java.util.Objects.requireNonNull(sink, "sink");
      return this;
    }

    /**
     * Declares a host function the guest may call, with untyped arguments. A function named {@code
     * HostPrint} replaces the default one.
     *
     * {@snippet :
     * builder.hostFunction("Concat", ValueType.STRING, List.of(ValueType.STRING, ValueType.I32),
     *     args -> args.get(0) + ":" + args.get(1));
     * }
     *
     * @param name 1 to 255 bytes of UTF-8, no NUL
     * @param returnType the type of the value the function returns
     * @param parameterTypes the parameter types, at most 16, none {@link ValueType#VOID}
     * @param function the code; receives arguments already checked against {@code parameterTypes}
     * @return this builder
     * @throws IllegalArgumentException if the name is invalid or already declared, or the
     *     parameters are invalid
     */
    public Builder hostFunction(
        String name,
        ValueType<?> returnType,
        List<ValueType<?>> parameterTypes,
        HostFunction function) {
      config.addHostFunction(name, returnType, parameterTypes, function);
      return this;
    }

    /**
     * Declares a host function without parameters.
     *
     * @param <R> the Java type of the result
     * @param name 1 to 255 bytes of UTF-8, no NUL
     * @param returnType the type of the value the function returns
     * @param function the code
     * @return this builder
     * @throws IllegalArgumentException as {@link #hostFunction(String, ValueType, List,
     *     HostFunction)}
     */
    public <R> Builder hostFunction(String name, ValueType<R> returnType, Supplier<R> function) {
      java.util.Objects.requireNonNull(function, "function");
      return hostFunction(name, returnType, List.of(), args -> function.get());
    }

    /**
     * Declares a host function of one parameter, typed.
     *
     * {@snippet :
     * builder.hostFunction("Shout", ValueType.STRING, ValueType.STRING, s -> s.toUpperCase());
     * }
     *
     * @param <R> the Java type of the result
     * @param <A> the Java type of the parameter
     * @param name 1 to 255 bytes of UTF-8, no NUL
     * @param returnType the type of the value the function returns
     * @param parameter the type of the parameter
     * @param function the code
     * @return this builder
     * @throws IllegalArgumentException as {@link #hostFunction(String, ValueType, List,
     *     HostFunction)}
     */
    public <R, A> Builder hostFunction(
        String name, ValueType<R> returnType, ValueType<A> parameter, Function<A, R> function) {
      java.util.Objects.requireNonNull(function, "function");
      return hostFunction(
          name,
          returnType,
          List.of(parameter),
          args -> function.apply(parameter.cast(args.get(0))));
    }

    /**
     * Declares a host function of two parameters, typed.
     *
     * @param <R> the Java type of the result
     * @param <A> the Java type of the first parameter
     * @param <B> the Java type of the second parameter
     * @param name 1 to 255 bytes of UTF-8, no NUL
     * @param returnType the type of the value the function returns
     * @param first the type of the first parameter
     * @param second the type of the second parameter
     * @param function the code
     * @return this builder
     * @throws IllegalArgumentException as {@link #hostFunction(String, ValueType, List,
     *     HostFunction)}
     */
    public <R, A, B> Builder hostFunction(
        String name,
        ValueType<R> returnType,
        ValueType<A> first,
        ValueType<B> second,
        BiFunction<A, B, R> function) {
      java.util.Objects.requireNonNull(function, "function");
      return hostFunction(
          name,
          returnType,
          List.of(first, second),
          args -> function.apply(first.cast(args.get(0)), second.cast(args.get(1))));
    }

    /**
     * Builds the sandbox: checks the image, opens the backend, lays out and maps guest memory, runs
     * the guest's initialization to READY and reads its function table.
     *
     * @return the sandbox, ready for calls; the caller owns it and must close it
     * @throws IllegalStateException if no guest was set
     * @throws GuestImageException if the image breaks ABI §3 or cannot be read
     * @throws IllegalArgumentException if the image, heap, buffers and stack do not fit in the
     *     memory size, or the memory size exceeds the backend's maximum
     * @throws dev.glint.hv.MissingCapabilityException if {@link PrivilegeLevel#USER} is chosen and
     *     the backend cannot start a vCPU at CPL 3, or a call timeout is set and the backend cannot
     *     stop a running vCPU
     * @throws GuestFaultException if the guest faulted during initialization
     * @throws GuestAbortedException if the guest aborted during initialization
     * @throws CallTimeoutException if initialization ran past the call timeout
     * @throws ProtocolViolationException if the guest broke the protocol during initialization,
     *     such as a malformed function table
     * @throws dev.glint.hv.HypervisorException if no backend is available or the backend fails
     */
    public Sandbox build() {
      return SandboxFactory.build(config.freeze());
    }

    /** {@return the settings so far, frozen} For {@link SandboxPool}, which builds from them. */
    SandboxConfig freeze() {
      return config.freeze();
    }
  }
}
