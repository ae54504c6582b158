package dev.glint.sandbox.internal.events;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * JFR event: one acquire from a sandbox pool. Its duration is the wait for a sandbox, a build on
 * demand included.
 */
@Name("dev.glint.PoolAcquire")
@Label("Pool Acquire")
@Category("Glint")
@Description("A lease was taken from a sandbox pool, or the acquire failed")
@StackTrace(false)
public final class PoolAcquireEvent extends jdk.jfr.Event {
  /** The pool's maximum size. */
  @Label("Pool Size")
  public int poolSize;

  /** Leases out after this acquire, its own included if it succeeded. */
  @Label("In Use")
  public int inUse;

  /** Whether no sandbox was idle and one was built for this acquire. */
  @Label("Built")
  public boolean built;

  /** "ok", "exhausted", "closed", "interrupted" or "failed" (a build failed). */
  @Label("Outcome")
  public String outcome;
}
