package dev.glint.sandbox.internal.events;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/** JFR event: a sandbox was restored to a snapshot. Its duration is the restore. */
@Name("dev.glint.SandboxRestored")
@Label("Sandbox Restored")
@Category("Glint")
@Description("A sandbox was returned to a snapshot's memory and vCPU state")
@StackTrace(false)
public final class SandboxRestoredEvent extends jdk.jfr.Event {
  /**
   * How many memory pages were reset (the pages written since the last restore), or -1 when the
   * memory was replaced by a fresh clone of another snapshot.
   */
  @Label("Pages Reset")
  public int pagesReset;

  /** Whether the sandbox was poisoned before the restore. */
  @Label("Was Poisoned")
  public boolean wasPoisoned;
}
