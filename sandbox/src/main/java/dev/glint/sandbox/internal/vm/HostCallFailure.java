package dev.glint.sandbox.internal.vm;

import dev.glint.sandbox.internal.wire.FunctionSignature;
import dev.glint.sandbox.internal.wire.WireType;
import java.util.List;

/**
 * A host call the guest made that the host answered with an error result (ABI §7.5). Kept so that a
 * call that then fails can say why.
 */
public sealed interface HostCallFailure {

  /** {@return the host function's name as the guest gave it} */
  String name();

  /** No host function has the name (error code 1). */
  record NotFound(String name) implements HostCallFailure {}

  /** The argument types do not match the declaration (error code 2). */
  record TypeMismatch(String name, FunctionSignature declared, List<WireType> actual)
      implements HostCallFailure {}

  /** The host function threw (error code 3). */
  record Threw(String name, Throwable exception) implements HostCallFailure {}

  /**
   * The host function returned something it may not: a value of the wrong type (code 3) or one too
   * large for the input buffer (code 4).
   */
  record BadResult(String name, String problem) implements HostCallFailure {}
}
