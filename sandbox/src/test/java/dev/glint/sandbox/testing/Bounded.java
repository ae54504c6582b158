package dev.glint.sandbox.testing;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeoutException;

/**
 * Runs one fuzz input on a worker thread under a time limit, so that a decoder that hangs on some
 * input fails its fuzz test with the input instead of hanging the build. One daemon worker is
 * reused for every input (a thread per input would cost more than most decodes). What the work
 * throws is rethrown as it is.
 */
public final class Bounded {
  /** The limit for one input: decoding takes microseconds, so anything near this is a hang. */
  public static final Duration LIMIT = Duration.ofSeconds(5);

  private static final ExecutorService WORKER =
      Executors.newSingleThreadExecutor(
          r -> {
            Thread t = new Thread(r, "fuzz-input");
            t.setDaemon(true);
            return t;
          });

  private Bounded() {}

  /** Work that may throw anything. */
  @FunctionalInterface
  public interface Work {
    /** Runs the work. */
    void run() throws Exception;
  }

  /**
   * Runs {@code work} and returns when it ends.
   *
   * @throws AssertionError if it ran past {@link #LIMIT} (the worker is abandoned)
   */
  public static void run(Work work) throws Exception {
    Callable<Void> task =
        () -> {
          work.run();
          return null;
        };
    Future<Void> future = WORKER.submit(task);
    try {
      future.get(LIMIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      future.cancel(true);
      throw new AssertionError("one input ran for more than " + LIMIT + ": a hang", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof Exception exception) {
        throw exception;
      }
      if (cause instanceof Error error) {
        throw error;
      }
      throw e;
    }
  }
}
