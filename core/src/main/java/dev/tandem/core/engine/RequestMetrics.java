package dev.tandem.core.engine;

import java.time.Duration;

/**
 * When things happened to a request, in {@link System#nanoTime()} units.
 *
 * @param firstTokenNanos when its first token was sampled; 0 if none yet
 * @param finishedNanos when it finished; 0 while running
 * @param tokenNanos when each step that produced tokens for it ended, in order
 */
public record RequestMetrics(
    long arrivalNanos, long firstTokenNanos, long finishedNanos, long[] tokenNanos) {

  public RequestMetrics {
    tokenNanos = tokenNanos.clone();
  }

  @Override
  public long[] tokenNanos() {
    return tokenNanos.clone();
  }

  /** From arrival to the first sampled token; null if there is none yet. */
  public Duration timeToFirstToken() {
    return firstTokenNanos == 0 ? null : Duration.ofNanos(firstTokenNanos - arrivalNanos);
  }

  /** The gaps between consecutive token-producing steps (the first measured from arrival). */
  public long[] interTokenNanos() {
    long[] gaps = new long[tokenNanos.length];
    long previous = arrivalNanos;
    for (int i = 0; i < tokenNanos.length; i++) {
      gaps[i] = tokenNanos[i] - previous;
      previous = tokenNanos[i];
    }
    return gaps;
  }
}
