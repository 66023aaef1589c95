package dev.tandem.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class WorkerPoolTest {

  @Test
  void everyUnitRunsExactlyOnceOverManyLoops() throws InterruptedException {
    try (WorkerPool pool = new WorkerPool(4)) {
      Random random = new Random(7);
      for (int loop = 0; loop < 20_000; loop++) {
        int units = random.nextInt(40);
        int[] hits = new int[units];
        int[] workerOf = new int[units];
        pool.forRange(
            units,
            1 + random.nextInt(4),
            (worker, start, end) -> {
              for (int u = start; u < end; u++) {
                hits[u]++;
                workerOf[u] = worker;
              }
            });
        for (int u = 0; u < units; u++) {
          assertEquals(1, hits[u], "loop " + loop + " unit " + u);
          assertTrue(workerOf[u] >= 0 && workerOf[u] < 4);
        }
        if (loop % 5_000 == 0) {
          Thread.sleep(5); // let the workers park, so the next loop must wake them
        }
      }
    }
  }

  @Test
  void aChunksFailureReachesTheCallerAndThePoolGoesOn() {
    try (WorkerPool pool = new WorkerPool(3)) {
      IllegalArgumentException thrown = new IllegalArgumentException("a chunk failed");
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  pool.forRange(
                      30,
                      1,
                      (worker, start, end) -> {
                        throw thrown; // every chunk, whichever thread claims it
                      }));
      assertSame(thrown, e);
      AtomicInteger sum = new AtomicInteger();
      pool.forRange(30, 1, (worker, start, end) -> sum.addAndGet(end - start));
      assertEquals(30, sum.get());
    }
  }

  /**
   * Every thread of the pool takes part in a loop: each thread's first chunk waits (up to 10 s)
   * until all three have claimed one, so no thread can take every chunk before a slow-starting
   * worker wakes (a timed sleep per chunk made this depend on the machine's load).
   */
  @Test
  void threadsClaimChunksUntilNoneIsLeft() {
    try (WorkerPool pool = new WorkerPool(3)) {
      int chunks = 3 * WorkerPool.CHUNKS_PER_THREAD;
      java.util.Set<Integer> threads = java.util.concurrent.ConcurrentHashMap.newKeySet();
      CountDownLatch allClaimed = new CountDownLatch(3);
      AtomicInteger calls = new AtomicInteger();
      pool.forRange(
          chunks * 5,
          5,
          (worker, start, end) -> {
            assertEquals(5, end - start);
            calls.incrementAndGet();
            if (threads.add(worker)) {
              allClaimed.countDown();
              try {
                allClaimed.await(10, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            }
          });
      assertEquals(chunks, calls.get(), "one call per chunk, " + chunks + " chunks");
      assertEquals(3, threads.size(), "the caller and both workers claimed chunks");
    }
  }

  @Test
  void nestedAndClosedLoopsRunOnTheCaller() {
    WorkerPool pool = new WorkerPool(2);
    AtomicInteger inner = new AtomicInteger();
    pool.forRange(
        2,
        1,
        (worker, start, end) ->
            pool.forRange(
                10, 1, (w, s, e) -> inner.addAndGet(w == 0 && s == 0 && e == 10 ? e - s : 1000)));
    assertEquals(20, inner.get(), "each of the two chunks ran its inner loop whole, inline");
    pool.close();
    AtomicInteger after = new AtomicInteger();
    pool.forRange(10, 1, (worker, start, end) -> after.addAndGet(end - start));
    assertEquals(10, after.get());
  }
}
