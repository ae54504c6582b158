package dev.glint.demo.internal;

/**
 * Routes the text a guest prints through {@code HostPrint} to the request whose call made it.
 *
 * <p>The pooled sandboxes share one print sink (the pool template's), and many requests call them
 * at once. A sandbox runs its host functions on the thread that called it, so the sink finds the
 * request's buffer in a {@link ScopedValue} bound around the call: no locking, nothing to clean up,
 * and a buffer can never leak into the next request served by the same (virtual) thread.
 */
final class PrintCapture {
  private static final System.Logger LOG = System.getLogger("dev.glint.demo");

  private static final ScopedValue<StringBuilder> SINK = ScopedValue.newInstance();

  private PrintCapture() {}

  /**
   * Runs {@code call} with {@code into} receiving whatever the guest prints during it.
   *
   * @param <R> the call's result type
   * @param <X> the checked exception the call may throw
   */
  static <R, X extends Throwable> R capturing(
      StringBuilder into, ScopedValue.CallableOp<? extends R, X> call) throws X {
    return ScopedValue.where(SINK, into).call(call);
  }

  /**
   * The sandboxes' print sink: appends to the calling request's buffer. Text printed outside a
   * capture (which the routes never do) is logged rather than lost or sent to another request.
   */
  static void print(String text) {
    if (SINK.isBound()) {
      SINK.get().append(text);
    } else {
      LOG.log(System.Logger.Level.DEBUG, "guest printed outside a request: {0}", text);
    }
  }
}
