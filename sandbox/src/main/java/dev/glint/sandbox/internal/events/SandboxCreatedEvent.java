package dev.glint.sandbox.internal.events;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/** JFR event: a sandbox was built, from loading the image to READY. Its duration is the build. */
@Name("dev.glint.SandboxCreated")
@Label("Sandbox Created")
@Category("Glint")
@Description("A sandbox was built: image checked, VM created, guest initialized to READY")
@StackTrace(false)
public final class SandboxCreatedEvent extends jdk.jfr.Event {
  /** The backend's name. */
  @Label("Backend")
  public String backend;

  /** "USER" or "KERNEL". */
  @Label("Privilege Level")
  public String privilegeLevel;

  /** Guest memory size. */
  @Label("Memory Size")
  @DataAmount
  public long memorySize;

  /** How many functions the guest exports. */
  @Label("Guest Functions")
  public int functionCount;
}
