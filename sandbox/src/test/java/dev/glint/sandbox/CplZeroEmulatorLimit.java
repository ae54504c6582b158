package dev.glint.sandbox;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;
import org.opentest4j.TestAbortedException;

/**
 * Turns a test failure caused by KVM's CPL-0 instruction emulator stopping the guest
 * (KVM_INTERNAL_ERROR_EMULATION, on PVM hosts) into a skip that says so. The sample guest built by
 * the guest SDK at commit ebda894 compiles {@code echo} with SSE, which that emulator cannot run;
 * the guest build is being changed to general registers only, after which nothing is skipped.
 */
final class CplZeroEmulatorLimit implements TestExecutionExceptionHandler {
  @Override
  public void handleTestExecutionException(ExtensionContext context, Throwable throwable)
      throws Throwable {
    for (Throwable t = throwable; t != null; t = t.getCause()) {
      if (t.getMessage() != null && t.getMessage().contains("KVM_INTERNAL_ERROR_EMULATION")) {
        throw new TestAbortedException(
            "KVM's CPL-0 emulator cannot run an instruction of this guest build (SSE): "
                + t.getMessage(),
            throwable);
      }
    }
    throw throwable;
  }
}
