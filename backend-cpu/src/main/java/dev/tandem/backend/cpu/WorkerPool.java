package dev.tandem.backend.cpu;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Splits a range of independent work units over a fixed set of daemon threads. The calling thread
 * works too, so a pool of {@code n} threads keeps {@code n - 1} workers. The range is cut into up
 * to {@link #CHUNKS_PER_THREAD} chunks per thread, which the threads claim one after another until
 * none is left: a thread that the machine holds up (another process, a hypervisor) leaves its share
 * to the others instead of making them all wait for it.
 *
 * <p>A decode step is a hundred or more short parallel loops, so handing a loop to the workers must
 * cost far less than the loop. Workers therefore wait for the next loop by spinning for {@link
 * #SPIN_NANOS} (the gap between two loops of a step is microseconds) and only then park, as
 * OpenMP's active wait policy does; the caller waits for them the same way. Handing each loop to an
 * executor's queue and waking a parked thread made a 512 × 512 GEMV on 2 threads take 28 µs a call;
 * this pool takes 12 µs (GemmCpuTime, docs/performance.md).
 */
final class WorkerPool implements AutoCloseable {

  /** Work on units [start, end); {@code worker} in [0, threads) selects per-thread scratch. */
  @FunctionalInterface
  interface RangeTask {
    void run(int worker, int start, int end);
  }

  /** Chunks per thread a range is cut into, at most. */
  static final int CHUNKS_PER_THREAD = 4;

  /** How long a waiting thread spins before it parks. */
  private static final long SPIN_NANOS = TimeUnit.MICROSECONDS.toNanos(100);

  /**
   * How long of that it spins without yielding; after that it yields the core on each turn, so with
   * more threads than free cores the spinning does not starve the threads with work.
   */
  private static final long BUSY_SPIN_NANOS = TimeUnit.MICROSECONDS.toNanos(10);

  /** One parallel loop, immutable but for its counters: workers read it whole, once. */
  private static final class Job {
    final long generation;
    final RangeTask task;
    final int units;
    final int chunks;
    final int participants; // threads [0, participants) claim chunks
    final Thread caller;
    final AtomicInteger next = new AtomicInteger(); // the next chunk to claim
    final AtomicInteger remaining; // chunks not yet done
    final AtomicReference<Throwable> failure = new AtomicReference<>();

    Job(long generation, RangeTask task, int units, int chunks, int participants) {
      this.generation = generation;
      this.task = task;
      this.units = units;
      this.chunks = chunks;
      this.participants = participants;
      this.caller = Thread.currentThread();
      this.remaining = new AtomicInteger(chunks);
    }

    /** Runs chunks on thread {@code worker} until none is left to claim. */
    void claimChunks(int worker) {
      for (int chunk = next.getAndIncrement(); chunk < chunks; chunk = next.getAndIncrement()) {
        try {
          task.run(
              worker,
              (int) ((long) units * chunk / chunks),
              (int) ((long) units * (chunk + 1) / chunks));
        } catch (Throwable e) {
          failure.compareAndSet(null, e);
        }
        if (remaining.decrementAndGet() == 0 && Thread.currentThread() != caller) {
          LockSupport.unpark(caller);
        }
      }
    }
  }

  private final int threads;
  private final Thread[] workers; // [0] unused: the caller is thread 0
  private final AtomicIntegerArray parked; // (worker) -> 1 while it parks
  private final AtomicBoolean busy = new AtomicBoolean();
  private volatile Job job = new Job(0, (worker, start, end) -> {}, 0, 1, 1);
  private volatile boolean closed;

  WorkerPool(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("cpu: threads=" + threads + ": must be >= 1");
    }
    this.threads = threads;
    this.workers = new Thread[threads];
    this.parked = new AtomicIntegerArray(threads);
    for (int w = 1; w < threads; w++) {
      int worker = w;
      workers[w] = new Thread(() -> workLoop(worker), "tandem-cpu-" + w);
      workers[w].setDaemon(true);
      workers[w].start();
    }
  }

  int threads() {
    return threads;
  }

  /**
   * Runs {@code task} over [0, units) in at most {@code threads × CHUNKS_PER_THREAD} contiguous
   * chunks, each of at least {@code minUnitsPerChunk} units (small jobs stay on the caller); a
   * thread may run several chunks, one call each. Returns when all chunks are done; rethrows the
   * first failure. A call made while another runs (from another thread, or from inside a task), or
   * after close, runs on its caller alone.
   */
  void forRange(int units, int minUnitsPerChunk, RangeTask task) {
    int chunks =
        Math.min(threads * CHUNKS_PER_THREAD, Math.max(1, units / Math.max(1, minUnitsPerChunk)));
    int participants = Math.min(threads, chunks);
    if (participants == 1 || closed || !busy.compareAndSet(false, true)) {
      task.run(0, 0, units);
      return;
    }
    try {
      Job current = new Job(job.generation + 1, task, units, chunks, participants);
      job = current;
      // After the volatile write: a worker that announced its park before it is unparked here,
      // one that announces it later sees the new job before it parks.
      for (int w = 1; w < participants; w++) {
        if (parked.get(w) == 1) {
          LockSupport.unpark(workers[w]);
        }
      }
      current.claimChunks(0);
      long start = System.nanoTime();
      while (current.remaining.get() > 0) {
        if (!spin(start)) {
          LockSupport.park(this);
        }
      }
      Throwable first = current.failure.get();
      if (first instanceof RuntimeException e) {
        throw e;
      }
      if (first instanceof Error e) {
        throw e;
      }
      if (first != null) {
        throw new IllegalStateException("cpu worker failed", first);
      }
    } finally {
      busy.set(false);
    }
  }

  private void workLoop(int worker) {
    long seen = 0;
    while (true) {
      Job current = awaitJob(worker, seen);
      if (current == null) {
        return; // closed
      }
      seen = current.generation;
      if (worker < current.participants) {
        current.claimChunks(worker);
      }
    }
  }

  /** One turn of a wait that began at {@code start}; false once it is time to park. */
  private static boolean spin(long start) {
    long waited = System.nanoTime() - start;
    if (waited < BUSY_SPIN_NANOS) {
      Thread.onSpinWait();
    } else if (waited < SPIN_NANOS) {
      Thread.yield();
    } else {
      return false;
    }
    return true;
  }

  /** The first job after generation {@code seen}, or null once the pool is closed. */
  private Job awaitJob(int worker, long seen) {
    long start = System.nanoTime();
    while (true) {
      Job current = job;
      if (closed) {
        return null;
      }
      if (current.generation != seen) {
        return current;
      }
      if (!spin(start)) {
        parked.set(worker, 1);
        if (job.generation == seen && !closed) {
          LockSupport.park(this);
        }
        parked.set(worker, 0);
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    for (int w = 1; w < threads; w++) {
      LockSupport.unpark(workers[w]);
    }
  }
}
