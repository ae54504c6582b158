package dev.glint.hv.mshv.internal;

import dev.glint.hv.VcpuExit;

/** The exits that carry no data, shared. */
final class MshvExits {
  static final VcpuExit.Halt HALT = new VcpuExit.Halt();
  static final VcpuExit.Shutdown SHUTDOWN = new VcpuExit.Shutdown();
  static final VcpuExit.Cancelled CANCELLED = new VcpuExit.Cancelled();

  private MshvExits() {}
}
