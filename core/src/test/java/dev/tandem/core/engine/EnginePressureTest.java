package dev.tandem.core.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.core.config.PreemptionMode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Scheduling under block pressure must not change what is generated: the toy model reads every
 * token back through the block tables, so a wrong swap, copy or recompute shows in the outputs.
 */
class EnginePressureTest {

  static Stream<Arguments> managersAndModes() {
    return ToyModel.blockManagers()
        .flatMap(m -> Stream.of(PreemptionMode.values()).map(p -> Arguments.of(m, p)));
  }

  static List<Request> mixedRequests(int count, long seed) {
    Random random = new Random(seed);
    List<Request> requests = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int[] prompt = random.ints(1 + random.nextInt(30), 3, 64).toArray();
      SamplingParams.Builder params = SamplingParams.builder().maxTokens(4 + random.nextInt(30));
      switch (i % 10) {
        case 7 -> params.n(2).temperature(0.8).seed((long) i);
        case 8 -> params.numBeams(3).n(2);
        case 9 -> params.temperature(1.0).seed((long) i).topK(20);
        default -> {}
      }
      requests.add(Request.ofTokens("r" + i, prompt, params.build()));
    }
    return requests;
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("managersAndModes")
  void pressureChangesNothing(String manager, PreemptionMode mode) {
    List<Request> requests = mixedRequests(200, 11);
    try (Engine engine = ToyModel.engine(manager, 60, 400, mode, 64, 128)) {
      assertPressedRunSame(requests, ampleRun(manager, mode, requests), engine, mode);
    }
  }

  /**
   * Multi-step scheduling under the same pressure: the backend chooses up to four positions per
   * step (lookahead slots reserved in the block tables, stops found afterwards), and every output
   * is still that of one-token steps with an ample cache.
   */
  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("managersAndModes")
  void multiStepUnderPressureChangesNothing(String manager, PreemptionMode mode) {
    List<Request> requests = mixedRequests(200, 11);
    Map<String, RequestOutput> ample = ampleRun(manager, mode, requests);
    try (Engine engine = ToyModel.assemble(manager, 60, 400, mode, 64, 128, true, 4).engine()) {
      assertPressedRunSame(requests, ample, engine, mode);
      EngineStats stats = engine.stats();
      assertTrue(stats.positionsRun() > stats.steps(), "no step ran several positions: " + stats);
    }
  }

  private static Map<String, RequestOutput> ampleRun(
      String manager, PreemptionMode mode, List<Request> requests) {
    try (Engine engine = ToyModel.engine(manager, 4000, 10, mode, 64, 128)) {
      Map<String, RequestOutput> ample = byId(engine.generate(requests));
      assertEquals(0, engine.stats().scheduler().preemptions());
      return ample;
    }
  }

  /** Runs the requests on a tight engine: preempted, swapped, and the ample run's outputs. */
  private static void assertPressedRunSame(
      List<Request> requests,
      Map<String, RequestOutput> ample,
      Engine engine,
      PreemptionMode mode) {
    Map<String, RequestOutput> tight = byId(engine.generate(requests));
    SchedulerStats stats = engine.stats().scheduler();
    assertTrue(stats.preemptions() > 0, "no preemption happened: " + stats);
    assertTrue(stats.swapOuts() > 0 && stats.swapIns() > 0, "no swap happened: " + stats);
    if (mode == PreemptionMode.RECOMPUTE) {
      assertTrue(stats.recomputations() > 0, "no recomputation happened: " + stats);
    } else {
      assertEquals(0, stats.recomputations());
    }
    assertEquals(0, stats.failed());
    for (Request request : requests) {
      assertSameGeneration(ample.get(request.requestId()), tight.get(request.requestId()));
    }
    assertAllBlocksFree(engine);
  }

  /**
   * Same tokens, text and finish; log-probabilities equal up to float rounding (block size and
   * batch composition change the order of floating-point sums in attention).
   */
  static void assertSameGeneration(RequestOutput expected, RequestOutput actual) {
    String id = expected.requestId();
    assertEquals(expected.outputs().size(), actual.outputs().size(), id);
    for (int i = 0; i < expected.outputs().size(); i++) {
      CompletionOutput e = expected.outputs().get(i);
      CompletionOutput a = actual.outputs().get(i);
      org.junit.jupiter.api.Assertions.assertArrayEquals(e.tokenIds(), a.tokenIds(), id);
      assertEquals(e.text(), a.text(), id);
      assertEquals(e.finishReason(), a.finishReason(), id);
      assertEquals(e.finishMessage(), a.finishMessage(), id);
      assertEquals(e.cumulativeLogprob(), a.cumulativeLogprob(), 1e-4, id);
    }
  }

  static void assertAllBlocksFree(Engine engine) {
    engine.checkBlockInvariants();
    EngineStats stats = engine.stats();
    assertEquals(stats.totalGpuBlocks(), stats.freeGpuBlocks(), "device blocks leaked");
    assertEquals(stats.totalCpuBlocks(), stats.freeCpuBlocks(), "swap blocks leaked");
  }

  static Map<String, RequestOutput> byId(List<RequestOutput> outputs) {
    Map<String, RequestOutput> map = new HashMap<>();
    for (RequestOutput output : outputs) {
      assertTrue(output.finished());
      map.put(output.requestId(), output);
    }
    return map;
  }
}
