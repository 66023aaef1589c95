package dev.tandem.core.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.api.sequence.OutputKind;
import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.core.checkpoint.Fixtures;
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
    Map<String, RequestOutput> results = submitFromEightThreads(engine(), requests).byId();
    for (Request request : requests) {
      // Same tokens, text and finish; log-probabilities up to the last bits, which depend on
      // whether the sampler's vector sums ran interpreted or compiled (as in the first run here
      // when this class runs alone).
      EnginePressureTest.assertSameGeneration(
          expected.get(request.requestId()), results.get(request.requestId()));
    }
  }

  /**
   * The same on a real checkpoint (numwords-t5, its 100 evaluation prompts ten times over, greedy):
   * the tokens and text equal the synchronous run's. (Log-probabilities may differ in the last
   * bits: the batches differ, and with them the GEMM kernel and summation order.) The asynchronous
   * engine schedules four positions at a time (multi-step), so streams grow by bursts.
   */
  @Test
  void manyThreadsStreamingOnARealModelGetTheSynchronousTokens() throws Exception {
    JsonNode examples = RealModels.numwordsEval().get("examples");
    List<Request> requests = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      String prompt = examples.get(i % examples.size()).get("prompt").asText();
      requests.add(Request.of("r" + i, prompt, SamplingParams.builder().maxTokens(48).build()));
    }
    String manager = ToyModel.blockManagers().findFirst().orElseThrow();
    Map<String, RequestOutput> expected;
    try (Engine engine = RealModels.engine(Fixtures.numwordsT5(), manager, Map.of())) {
      expected = EnginePressureTest.byId(engine.generate(requests));
    }
    Streamed streamed =
        submitFromEightThreads(
            RealModels.engine(Fixtures.numwordsT5(), manager, Map.of("num-scheduler-steps", "4")),
            requests);
    Map<String, RequestOutput> results = streamed.byId();
    assertTrue(streamed.largestBurst() > 1, "no output grew by several tokens at once");
    for (Request request : requests) {
      CompletionOutput want = expected.get(request.requestId()).first();
      CompletionOutput got = results.get(request.requestId()).first();
      assertArrayEquals(want.tokenIds(), got.tokenIds(), request.requestId());
      assertEquals(want.text(), got.text(), request.requestId());
      assertEquals(want.finishReason(), got.finishReason(), request.requestId());
    }
    String first = expected.get("r0").first().text();
    assertEquals(examples.get(0).get("expected").asText(), first, "sanity: the model answers");
  }

  /** A FINAL_ONLY request streams exactly one output, its final one, like its result. */
  @Test
  void finalOnlyStreamsOneOutput() throws Exception {
    JsonNode examples = RealModels.numwordsEval().get("examples");
    String manager = ToyModel.blockManagers().findFirst().orElseThrow();
    try (AsyncEngine async =
        new AsyncEngine(RealModels.engine(Fixtures.numwordsT5(), manager, Map.of()))) {
      List<RequestHandle> handles = new ArrayList<>();
      List<Collector> collectors = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        SamplingParams params =
            SamplingParams.builder()
                .outputKind(i % 2 == 0 ? OutputKind.FINAL_ONLY : OutputKind.CUMULATIVE)
                .build();
        RequestHandle handle =
            async.submit(Request.of("f" + i, examples.get(i).get("prompt").asText(), params));
        Collector collector = new Collector();
        handle.outputs().subscribe(collector);
        handles.add(handle);
        collectors.add(collector);
      }
      for (int i = 0; i < handles.size(); i++) {
        RequestOutput result = handles.get(i).result().get(60, TimeUnit.SECONDS);
        Collector collector = collectors.get(i);
        assertTrue(collector.done.await(10, TimeUnit.SECONDS));
        assertEquals(result, collector.outputs.getLast());
        assertEquals(examples.get(i).get("expected").asText(), result.first().text());
        if (i % 2 == 0) {
          assertEquals(1, collector.outputs.size(), "f" + i + ": " + collector.outputs);
        } else {
          assertTrue(collector.outputs.size() > 1, "f" + i + " streams");
        }
      }
    }
  }

  /**
   * Submits the requests to an async engine over {@code engine} from 8 threads, each streaming its
   * requests' outputs; checks each stream (every output a prefix of the next, the final one last)
   * and returns the final outputs by request id.
   */
  /** The final outputs by request id, and the most tokens one streamed output added. */
  private record Streamed(Map<String, RequestOutput> byId, int largestBurst) {}

  private static Streamed submitFromEightThreads(Engine engine, List<Request> requests)
      throws Exception {
    Map<String, RequestOutput> results = new ConcurrentHashMap<>();
    java.util.concurrent.atomic.AtomicInteger burst =
        new java.util.concurrent.atomic.AtomicInteger();
    try (AsyncEngine async = new AsyncEngine(engine)) {
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
                    RequestOutput result = handles.get(k).result().get(120, TimeUnit.SECONDS);
                    Collector collector = collectors.get(k);
                    assertTrue(collector.done.await(10, TimeUnit.SECONDS));
                    List<RequestOutput> stream = collector.outputs;
                    assertEquals(result, stream.getLast());
                    for (int s = 0; s + 1 < stream.size(); s++) {
                      assertTrue(!stream.get(s).finished());
                      int[] now = stream.get(s).first().tokenIds();
                      int[] later = stream.get(s + 1).first().tokenIds();
                      assertArrayEquals(now, java.util.Arrays.copyOf(later, now.length));
                      burst.accumulateAndGet(later.length - now.length, Math::max);
                    }
                    results.put(result.requestId(), result);
                  }
                  return null;
                }));
      }
      for (Future<?> f : futures) {
        f.get(240, TimeUnit.SECONDS);
      }
      callers.shutdown();
    }
    assertEquals(requests.size(), results.size());
    return new Streamed(results, burst.get());
  }

  @Test
  void cancellingAbortsAndRejectionsCompleteWithError() throws Exception {
    Engine engine = ToyModel.slowEngine(10); // 100 tokens take 1 s: time to cancel, under load too
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
