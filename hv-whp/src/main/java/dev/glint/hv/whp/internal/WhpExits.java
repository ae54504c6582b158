package dev.glint.hv.whp.internal;

import dev.glint.hv.VcpuExit;
import dev.glint.hv.whp.internal.sys.WhvConstants;

/** The exits without data, and the names of WHP's exit reasons for messages. */
final class WhpExits {
  static final VcpuExit.Halt HALT = new VcpuExit.Halt();
  static final VcpuExit.Shutdown SHUTDOWN = new VcpuExit.Shutdown();
  static final VcpuExit.Cancelled CANCELLED = new VcpuExit.Cancelled();

  private WhpExits() {}

  /** {@return the SDK name of exit reason {@code reason}} */
  static String name(int reason) {
    return switch (reason) {
      case WhvConstants.WHvRunVpExitReasonNone -> "WHvRunVpExitReasonNone";
      case WhvConstants.WHvRunVpExitReasonMemoryAccess -> "WHvRunVpExitReasonMemoryAccess";
      case WhvConstants.WHvRunVpExitReasonX64IoPortAccess -> "WHvRunVpExitReasonX64IoPortAccess";
      case WhvConstants.WHvRunVpExitReasonUnrecoverableException ->
          "WHvRunVpExitReasonUnrecoverableException";
      case WhvConstants.WHvRunVpExitReasonInvalidVpRegisterValue ->
          "WHvRunVpExitReasonInvalidVpRegisterValue";
      case WhvConstants.WHvRunVpExitReasonUnsupportedFeature ->
          "WHvRunVpExitReasonUnsupportedFeature";
      case WhvConstants.WHvRunVpExitReasonX64InterruptWindow ->
          "WHvRunVpExitReasonX64InterruptWindow";
      case WhvConstants.WHvRunVpExitReasonX64Halt -> "WHvRunVpExitReasonX64Halt";
      case WhvConstants.WHvRunVpExitReasonX64ApicEoi -> "WHvRunVpExitReasonX64ApicEoi";
      case WhvConstants.WHvRunVpExitReasonX64MsrAccess -> "WHvRunVpExitReasonX64MsrAccess";
      case WhvConstants.WHvRunVpExitReasonX64Cpuid -> "WHvRunVpExitReasonX64Cpuid";
      case WhvConstants.WHvRunVpExitReasonException -> "WHvRunVpExitReasonException";
      case WhvConstants.WHvRunVpExitReasonX64Rdtsc -> "WHvRunVpExitReasonX64Rdtsc";
      case WhvConstants.WHvRunVpExitReasonCanceled -> "WHvRunVpExitReasonCanceled";
      default -> "exit reason 0x" + Integer.toHexString(reason);
    };
  }
}
