package dev.glint.sandbox.internal.vm;

/** Why {@link ExitLoop#run} returned. */
public sealed interface Stop {

  /** The guest signalled the expected port (READY or RETURN); its record waits in the output. */
  record Signalled() implements Stop {}

  /** The guest aborted (port 0x104). */
  record Aborted(int code, String message) implements Stop {}

  /** The guest faulted (port 0x105 from the fault stubs, or a triple fault). */
  record Faulted(FaultReport fault) implements Stop {}

  /** The call ran past its deadline and was stopped. */
  record TimedOut() implements Stop {}

  /** The call was interrupted on request ({@code Sandbox.interrupt()}). */
  record Interrupted() implements Stop {}

  /** The guest broke the protocol; the message says how. */
  record Violation(String message) implements Stop {}
}
