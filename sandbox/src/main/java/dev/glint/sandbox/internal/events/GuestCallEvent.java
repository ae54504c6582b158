package dev.glint.sandbox.internal.events;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/** JFR event: one call of a guest function. Its duration is the call, checks included. */
@Name("dev.glint.GuestCall")
@Label("Guest Call")
@Category("Glint")
@Description("One call of a guest function")
@StackTrace(false)
public final class GuestCallEvent extends jdk.jfr.Event {
  /** The guest function's name. */
  @Label("Function")
  public String function;

  /** VM exits the call took (0 if it was refused before the guest ran). */
  @Label("Exits")
  public int exits;

  /** "ok", or the failure's kind, such as "fault" or "refused". */
  @Label("Outcome")
  public String outcome;
}
