package dev.glint.cli.internal.bench;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * A one-line progress bar, redrawn in place with carriage returns on standard error, at most ten
 * times a second so that drawing it costs nothing next to what it reports on. Disabled, it does
 * nothing; the command enables it only for a terminal or on request, so that logs and pipes get no
 * control characters.
 *
 * <p>Not thread-safe: one thread advances it.
 */
public final class ProgressBar implements AutoCloseable {
  private static final int WIDTH = 30;
  private static final long REDRAW_NANOS = 100_000_000;

  private final PrintWriter err;
  private final boolean enabled;
  private final long total;
  private long done;
  private String label = "";
  private long lastDraw;
  private int lastLength;

  /**
   * Creates a bar of {@code total} steps.
   *
   * @param err where to draw
   * @param enabled whether to draw at all
   * @param total the steps to 100%
   */
  public ProgressBar(PrintWriter err, boolean enabled, long total) {
    this.err = err;
    this.enabled = enabled;
    this.total = Math.max(1, total);
  }

  /**
   * Names the work now under way, shown beside the bar.
   *
   * @param text a few words
   */
  public void label(String text) {
    label = text;
    draw(true);
  }

  /**
   * Advances by {@code steps}; redraws if the last drawing is old enough.
   *
   * @param steps steps done since the last call
   */
  public void advance(long steps) {
    done = Math.min(total, done + steps);
    draw(false);
  }

  /** {@return the steps done so far} */
  public long done() {
    return done;
  }

  private void draw(boolean now) {
    if (!enabled) {
      return;
    }
    long time = System.nanoTime();
    if (!now && time - lastDraw < REDRAW_NANOS) {
      return;
    }
    lastDraw = time;
    int filled = (int) (WIDTH * done / total);
    String line =
        String.format(
            Locale.ROOT,
            "[%s%s] %3d%%  %s",
            "#".repeat(filled),
            ".".repeat(WIDTH - filled),
            100 * done / total,
            label);
    // Pad over the rest of a longer previous line.
    err.print("\r" + line + " ".repeat(Math.max(0, lastLength - line.length())));
    err.flush();
    lastLength = line.length();
  }

  /** Erases the bar, leaving the line empty for what is printed next. */
  @Override
  public void close() {
    if (enabled && lastLength > 0) {
      err.print("\r" + " ".repeat(lastLength) + "\r");
      err.flush();
    }
  }
}
