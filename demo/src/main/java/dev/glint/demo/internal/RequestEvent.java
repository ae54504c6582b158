package dev.glint.demo.internal;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * JFR event: one HTTP request to the demo, from reading it to sending the response. Beside the
 * sandbox's own events ({@code dev.glint.GuestCall}, {@code dev.glint.PoolAcquire}) on the same
 * thread, it shows where a slow request spent its time.
 */
@Name("dev.glint.DemoRequest")
@Label("Demo Request")
@Category("Glint")
@Description("An HTTP request served by the demo server")
@StackTrace(false)
final class RequestEvent extends jdk.jfr.Event {
  /** The route's path, or "other". */
  @Label("Route")
  String route;

  /** The HTTP status sent, or 0 if none was. */
  @Label("Status")
  int status;

  /** How the request ended, as the metrics label it: "ok", "guest_fault", "busy", ... */
  @Label("Outcome")
  String outcome;
}
