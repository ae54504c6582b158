package dev.glint.sandbox;

import dev.glint.sandbox.internal.layout.FaultStubs;
import dev.glint.sandbox.internal.vm.FaultReport;
import dev.glint.sandbox.internal.vm.HostCallFailure;
import dev.glint.sandbox.internal.vm.Stop;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;

/** Turns the run loop's outcomes into the public exceptions. Stateless. */
final class Failures {
  private Failures() {}

  /**
   * {@return the exception for a run that stopped without the expected signal}
   *
   * @param stop the failure (not {@link Stop.Signalled})
   * @param hostFailures host calls answered with an error during the run
   * @param context what ran, such as "call of 'add'" or "initialization"
   */
  static SandboxException of(Stop stop, List<HostCallFailure> hostFailures, String context) {
    return of(stop, hostFailures, context, null);
  }

  /**
   * {@return the exception for a run that stopped without the expected signal}
   *
   * @param timeout the call timeout, for {@link Stop.TimedOut}; null if none was set
   */
  static SandboxException of(
      Stop stop, List<HostCallFailure> hostFailures, String context, Duration timeout) {
    Throwable cause = hostFailures.isEmpty() ? null : of(hostFailures.getFirst());
    return switch (stop) {
      case Stop.Aborted(int code, String message) ->
          new GuestAbortedException(
              "the guest aborted during the %s with code %d: %s".formatted(context, code, message),
              code,
              message,
              cause);
      case Stop.Faulted(FaultReport fault) -> fault(fault, context);
      case Stop.Violation(String message) ->
          new ProtocolViolationException(
              "protocol violation during the %s: %s".formatted(context, message), cause);
      case Stop.TimedOut() ->
          new CallTimeoutException(
              "the %s ran longer than its timeout of %s and was stopped"
                  .formatted(context, timeout == null ? "(none)" : format(timeout)),
              timeout,
              cause);
      case Stop.Interrupted() ->
          new ExecutionCancelledException(
              "the %s was interrupted and the guest stopped".formatted(context), cause);
      case Stop.Signalled() -> throw new IllegalArgumentException("not a failure: " + stop);
    };
  }

  /** {@return the public exception for a host call the host answered with an error} */
  static SandboxException of(HostCallFailure failure) {
    return switch (failure) {
      case HostCallFailure.NotFound(String name) ->
          new HostFunctionNotFoundException(
              name, "the guest called host function '%s', which does not exist".formatted(name));
      case HostCallFailure.TypeMismatch(String name, var declared, var actual) ->
          new TypeMismatchException(
              "the guest called host function %s with arguments (%s)"
                  .formatted(
                      declared, String.join(", ", actual.stream().map(t -> t.abiName()).toList())));
      case HostCallFailure.Threw(String name, Throwable exception) ->
          new HostFunctionFailedException(
              name, "host function '%s' threw %s".formatted(name, exception), exception);
      case HostCallFailure.BadResult(String name, String problem) ->
          new HostFunctionFailedException(name, problem, null);
    };
  }

  private static String format(Duration duration) {
    return duration.toMillis() >= 1 && duration.toNanos() % 1_000_000 == 0
        ? duration.toMillis() + " ms"
        : duration.toNanos() / 1000.0 + " µs";
  }

  private static GuestFaultException fault(FaultReport fault, String context) {
    String name = FaultStubs.vectorName(fault.vector());
    boolean known = !fault.undelivered();
    boolean pageFault = known && fault.vector() == 14;
    int cpl = known ? (int) (fault.cs() & 3) : -1;
    StringBuilder message =
        new StringBuilder("the guest faulted during the ")
            .append(context)
            .append(": ")
            .append(name);
    if (!known) {
      message.append(", a triple fault (the fault handler itself failed); address unknown");
    } else {
      message.append(" at RIP 0x%x (CPL %d)".formatted(fault.rip(), cpl));
      if (pageFault) {
        message.append(", address 0x%x".formatted(fault.cr2()));
      }
      message.append(", error code 0x%x".formatted(fault.errorCode()));
    }
    return new GuestFaultException(
        message.toString(),
        fault.vector(),
        name,
        fault.errorCode(),
        known ? OptionalLong.of(fault.rip()) : OptionalLong.empty(),
        pageFault ? OptionalLong.of(fault.cr2()) : OptionalLong.empty(),
        cpl);
  }

  /** {@return the exception a poisoned sandbox throws} */
  static SandboxPoisonedException poisoned(SandboxException cause) {
    return new SandboxPoisonedException(
        "the sandbox is poisoned by an earlier failure and refuses calls; close it and build a"
            + " new one (earlier failure: %s)".formatted(cause.getMessage()),
        cause);
  }
}
