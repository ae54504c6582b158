package dev.glint.sandbox;

import java.util.List;

/**
 * The code of a host function declared with {@link Sandbox.Builder#hostFunction(String, ValueType,
 * List, HostFunction)}: it receives the guest's arguments, already checked against the declared
 * parameter types, as Java values (see {@link ValueType} for the mapping).
 *
 * <p>It runs on the thread that called the guest function, while that call is in progress. It must
 * not call back into the same sandbox (that throws {@link IllegalStateException}).
 */
@FunctionalInterface
public interface HostFunction {
  /**
   * Runs the function.
   *
   * @param arguments the arguments, one Java value per declared parameter, never null
   * @return a value of the declared return type ({@code null} for void)
   * @throws Exception any failure; the guest receives an error result with the exception's message,
   *     and a call that then fails carries it as the cause of a {@link HostFunctionFailedException}
   */
  Object call(List<Object> arguments) throws Exception;
}
