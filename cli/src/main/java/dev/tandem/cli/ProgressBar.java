package dev.tandem.cli;

import static java.util.Objects.requireNonNull;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A one-line progress bar on stderr, redrawn in place at most ten times a second: {@code
 * [=========> ] 45/100 requests 12.3 s 3 failed}.
 */
final class ProgressBar {

  private static final int WIDTH = 30;
  private static final long REDRAW_NANOS = 100_000_000;

  private final PrintStream err;
  private final int total;
  private final long start = System.nanoTime();
  private long lastDrawn;
  private int done;
  private int failed;

  ProgressBar(PrintStream err, int total) {
    this.err = requireNonNull(err, "err is null");
    this.total = total;
    draw();
  }

  /** One more request finished. */
  void advance(boolean succeeded) {
    done++;
    if (!succeeded) {
      failed++;
    }
    long now = System.nanoTime();
    if (done == total || now - lastDrawn >= REDRAW_NANOS) {
      draw();
    }
  }

  /** Leaves the bar as it is and moves to the next line. */
  void finish() {
    draw();
    err.println();
    err.flush();
  }

  private void draw() {
    lastDrawn = System.nanoTime();
    int filled = total == 0 ? WIDTH : (int) ((long) WIDTH * done / total);
    StringBuilder bar = new StringBuilder("\r[");
    for (int i = 0; i < WIDTH; i++) {
      bar.append(i < filled ? '=' : i == filled ? '>' : ' ');
    }
    bar.append(
        String.format(
            Locale.ROOT, "] %d/%d requests  %.1f s", done, total, (lastDrawn - start) / 1e9));
    if (failed > 0) {
      bar.append("  ").append(failed).append(" failed");
    }
    err.print(bar);
    err.flush();
  }
}
