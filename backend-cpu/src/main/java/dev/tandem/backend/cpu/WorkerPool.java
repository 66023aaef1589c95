package dev.tandem.backend.cpu;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Splits a range of independent work units over a fixed set of daemon threads. The calling thread
 * runs the first chunk itself, so a pool of {@code n} threads keeps {@code n - 1} workers.
 */
final class WorkerPool implements AutoCloseable {

  /** Work on units [start, end); {@code worker} in [0, threads) selects per-thread scratch. */
  @FunctionalInterface
  interface RangeTask {
    void run(int worker, int start, int end);
  }

  private final int threads;
  private final ExecutorService executor;
  private final Future<?>[] pending;

  WorkerPool(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("cpu: threads=" + threads + ": must be >= 1");
    }
    this.threads = threads;
    this.pending = new Future<?>[threads];
    if (threads == 1) {
      executor = null;
    } else {
      AtomicInteger counter = new AtomicInteger();
      executor =
          Executors.newFixedThreadPool(
              threads - 1,
              runnable -> {
                Thread thread = new Thread(runnable, "tandem-cpu-" + counter.incrementAndGet());
                thread.setDaemon(true);
                return thread;
              });
    }
  }

  int threads() {
    return threads;
  }

  /**
   * Runs {@code task} over [0, units) in at most {@code threads} contiguous chunks, each of at
   * least {@code minUnitsPerChunk} units (small jobs stay on the caller: waking a thread costs
   * microseconds). Returns when all chunks are done; rethrows the first failure.
   */
  void forRange(int units, int minUnitsPerChunk, RangeTask task) {
    int chunks = Math.min(threads, Math.max(1, units / Math.max(1, minUnitsPerChunk)));
    if (chunks == 1) {
      task.run(0, 0, units);
      return;
    }
    for (int c = 1; c < chunks; c++) {
      int worker = c;
      int start = (int) ((long) units * c / chunks);
      int end = (int) ((long) units * (c + 1) / chunks);
      pending[c] = executor.submit(() -> task.run(worker, start, end));
    }
    RuntimeException failure = null;
    try {
      task.run(0, 0, (int) ((long) units / chunks));
    } catch (RuntimeException e) {
      failure = e;
    }
    for (int c = 1; c < chunks; c++) {
      try {
        pending[c].get();
      } catch (ExecutionException e) {
        if (failure == null) {
          failure =
              e.getCause() instanceof RuntimeException re
                  ? re
                  : new IllegalStateException("cpu worker failed", e.getCause());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        if (failure == null) {
          failure = new IllegalStateException("cpu: interrupted while waiting for workers", e);
        }
      } finally {
        pending[c] = null;
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  @Override
  public void close() {
    if (executor != null) {
      executor.shutdownNow();
    }
  }
}
