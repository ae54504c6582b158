package dev.glint.sandbox.internal.vm;

import dev.glint.sandbox.internal.wire.FunctionSignature;
import java.util.List;
import java.util.Objects;

/**
 * A host function as the run loop sees it: its signature and the code to run.
 *
 * @param signature the declared name and types
 * @param invoker the code; receives arguments that match the signature
 */
public record HostBinding(FunctionSignature signature, Invoker invoker) {

  /** Requires both. */
  public HostBinding {
    Objects.requireNonNull(signature, "signature");
    Objects.requireNonNull(invoker, "invoker");
  }

  /** The code behind a host function. */
  @FunctionalInterface
  public interface Invoker {
    /**
     * Runs the function.
     *
     * @param arguments Java values matching the signature's parameters
     * @return a Java value of the signature's return type (null for void)
     * @throws Exception whatever the function throws; the guest receives an error result
     */
    Object invoke(List<Object> arguments) throws Exception;
  }
}
