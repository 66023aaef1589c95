package dev.tandem.core.engine;

import dev.tandem.core.sampling.Sampler;
import dev.tandem.core.sampling.TokenRules;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Samplers for several threads, so a step's rows are sampled in parallel: every row takes a copy of
 * its 32k-wide logits row, penalties, a max and a log-sum-exp pass over the vocabulary, about 0.1
 * ms, which at B = 256 is tens of milliseconds per step on one thread. Rows are independent (each
 * sequence has its own random generator), so the split changes no result.
 */
final class ParallelSampling implements AutoCloseable {

  /** Rows per thread below which one thread is faster (handing work over costs microseconds). */
  private static final int MIN_ROWS_PER_THREAD = 4;

  /** Work on one row with the sampler of the thread that runs it. */
  @FunctionalInterface
  interface RowTask {
    void run(Sampler sampler, int index);
  }

  private final Sampler[] samplers; // (thread) -> its sampler; [0] is the caller's
  private final ExecutorService workers; // threads - 1 daemons, or null for one thread

  ParallelSampling(TokenRules rules, int vocabSize, int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads=" + threads + ": must be at least 1");
    }
    samplers = new Sampler[threads];
    for (int t = 0; t < threads; t++) {
      samplers[t] = new Sampler(rules, vocabSize);
    }
    if (threads == 1) {
      workers = null;
    } else {
      AtomicInteger counter = new AtomicInteger();
      workers =
          Executors.newFixedThreadPool(
              threads - 1,
              runnable -> {
                Thread thread = new Thread(runnable, "tandem-sampler-" + counter.incrementAndGet());
                thread.setDaemon(true);
                return thread;
              });
    }
  }

  /** The calling thread's sampler, for work that stays sequential. */
  Sampler sampler() {
    return samplers[0];
  }

  /** Runs {@code task} for every index in [0, count), split over the threads in chunks. */
  void forEach(int count, RowTask task) {
    int chunks = Math.min(samplers.length, Math.max(1, count / MIN_ROWS_PER_THREAD));
    Future<?>[] pending = new Future<?>[chunks];
    for (int c = 1; c < chunks; c++) {
      Sampler sampler = samplers[c];
      int start = (int) ((long) count * c / chunks);
      int end = (int) ((long) count * (c + 1) / chunks);
      pending[c] =
          workers.submit(
              () -> {
                for (int i = start; i < end; i++) {
                  task.run(sampler, i);
                }
              });
    }
    RuntimeException failure = null;
    try {
      for (int i = 0, end = count / chunks; i < end; i++) {
        task.run(samplers[0], i);
      }
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
                  : new IllegalStateException("sampling failed", e.getCause());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        if (failure == null) {
          failure = new IllegalStateException("interrupted while sampling", e);
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  @Override
  public void close() {
    if (workers != null) {
      workers.shutdownNow();
    }
  }
}
