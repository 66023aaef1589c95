package dev.tandem.core.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.core.config.PreemptionMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class AsyncEngineTest {

  private static Engine engine() {
    return ToyModel.engine(
        ToyModel.blockManagers().findFirst().orElseThrow(),
        300,
        300,
        PreemptionMode.RECOMPUTE,
        64,
        128);
  }

  /**
   * Collects a stream and checks it: every output a prefix of the next, one finished at the end.
   */
  static class Collector implements Flow.Subscriber<RequestOutput> {
    final List<RequestOutput> outputs = new CopyOnWriteArrayList<>();
    final CountDownLatch done = new CountDownLatch(1);
    volatile Throwable error;

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
      subscription.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(RequestOutput item) {
      outputs.add(item);
    }

    @Override
    public void onError(Throwable throwable) {
      error = throwable;
      done.countDown();
    }

    @Override
    public void onComplete() {
      done.countDown();
    }
  }

  @Test
  void manyThreadsStreamingGetTheSynchronousResults() throws Exception {
    Random random = new Random(9);
    List<Request> requests = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      requests.add(
          Request.ofTokens(
              "a" + i,
              random.ints(1 + random.nextInt(20), 3, 64).toArray(),
              SamplingParams.builder().maxTokens(1 + random.nextInt(16)).build()));
    }
    Map<String, RequestOutput> expected;
    try (Engine engine = engine()) {
      expected = EnginePressureTest.byId(engine.generate(requests));
    }
    Map<String, RequestOutput> results = new ConcurrentHashMap<>();
    try (AsyncEngine async = new AsyncEngine(engine())) {
      ExecutorService callers = Executors.newFixedThreadPool(8);
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int thread = t;
        futures.add(
            callers.submit(
                () -> {
                  List<RequestHandle> handles = new ArrayList<>();
                  List<Collector> collectors = new ArrayList<>();
                  for (int i = thread; i < requests.size(); i += 8) {
                    RequestHandle handle = async.submit(requests.get(i));
                    Collector collector = new Collector();
                    handle.outputs().subscribe(collector);
                    handles.add(handle);
                    collectors.add(collector);
                  }
                  for (int k = 0; k < handles.size(); k++) {
                    RequestOutput result = handles.get(k).result().get(60, TimeUnit.SECONDS);
                    Collector collector = collectors.get(k);
                    assertTrue(collector.done.await(10, TimeUnit.SECONDS));
                    List<RequestOutput> stream = collector.outputs;
                    assertEquals(result, stream.getLast());
                    for (int s = 0; s + 1 < stream.size(); s++) {
                      assertTrue(!stream.get(s).finished());
                      int[] now = stream.get(s).first().tokenIds();
                      int[] later = stream.get(s + 1).first().tokenIds();
                      assertArrayEquals(now, java.util.Arrays.copyOf(later, now.length));
                    }
                    results.put(result.requestId(), result);
                  }
                  return null;
                }));
      }
      for (Future<?> f : futures) {
        f.get(120, TimeUnit.SECONDS);
      }
      callers.shutdown();
    }
    assertEquals(1000, results.size());
    for (Request request : requests) {
      assertEquals(
          expected.get(request.requestId()).outputs(),
          results.get(request.requestId()).outputs(),
          request.requestId());
    }
  }

  @Test
  void cancellingAbortsAndRejectionsCompleteWithError() throws Exception {
    Engine engine = ToyModel.slowEngine(2);
    try (AsyncEngine async = new AsyncEngine(engine)) {
      RequestHandle longOne =
          async.submit(
              Request.of(
                  "long", "a b", SamplingParams.builder().maxTokens(100).ignoreEos(true).build()));
      RequestHandle bad =
          async.submit(Request.ofTokens("bad", new int[0], SamplingParams.greedy()));
      // Cancel from the stream once 3 outputs arrived; the toy model is fast, so the request may
      // have run further by then, but not to its end.
      java.util.concurrent.atomic.AtomicBoolean cancelled =
          new java.util.concurrent.atomic.AtomicBoolean();
      Collector collector =
          new Collector() {
            @Override
            public void onNext(RequestOutput item) {
              super.onNext(item);
              if (outputs.size() == 3) {
                cancelled.set(longOne.cancel());
              }
            }
          };
      longOne.outputs().subscribe(collector);
      assertTrue(collector.done.await(10, TimeUnit.SECONDS));
      assertTrue(cancelled.get());
      assertTrue(longOne.result().isCancelled());
      RequestOutput last = collector.outputs.getLast();
      assertTrue(last.finished());
      assertEquals(FinishReason.ABORT, last.first().finishReason());
      assertTrue(last.first().tokenIds().length < 100);
      RequestOutput rejected = bad.result().get(10, TimeUnit.SECONDS);
      assertTrue(rejected.failed());
      assertTrue(rejected.first().finishMessage().contains("empty"));
    }
    EnginePressureTest.assertAllBlocksFree(engine);
  }
}
