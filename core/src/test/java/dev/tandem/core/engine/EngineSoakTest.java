package dev.tandem.core.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
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
 * A seeded randomized soak: random requests, parameters and aborts against a tight cache, with each
 * block manager, and with tokens chosen on the host or (where a step allows) "on the device", one
 * position per step or up to three (multi-step scheduling).
 */
class EngineSoakTest {

  static Stream<Arguments> cases() {
    return ToyModel.blockManagers()
        .flatMap(
            m ->
                Stream.of(
                    Arguments.of(m, false, 1), Arguments.of(m, true, 1), Arguments.of(m, true, 3)));
  }

  @ParameterizedTest(name = "{0}, chosen on the device: {1}, num-scheduler-steps {2}")
  @MethodSource("cases")
  void everyRequestEndsExactlyOnceWithoutLeaks(
      String manager, boolean choosesOnDevice, int numSchedulerSteps) {
    Random random = new Random(2024);
    Map<String, Integer> finals = new HashMap<>();
    Map<String, FinishReason> reasons = new HashMap<>();
    List<String> live = new ArrayList<>();
    int total = 2000;
    int submitted = 0;
    int rejected = 0;
    long start = System.nanoTime();
    ToyModel.Assembled assembled =
        ToyModel.assemble(
            manager,
            48,
            200,
            PreemptionMode.RECOMPUTE,
            32,
            256,
            choosesOnDevice,
            numSchedulerSteps);
    try (Engine engine = assembled.engine()) {
      while (submitted < total || engine.hasUnfinished()) {
        for (int k = random.nextInt(6); k > 0 && submitted < total; k--) {
          String id = "s" + submitted++;
          try {
            engine.addRequest(randomRequest(id, random));
            live.add(id);
          } catch (IllegalArgumentException e) {
            rejected++;
            finals.merge(id, 1, Integer::sum);
          }
        }
        if (!live.isEmpty() && random.nextInt(10) == 0) {
          String victim = live.get(random.nextInt(live.size()));
          engine.abort(victim); // may have finished already: then a no-op
        }
        for (RequestOutput output : engine.step()) {
          if (output.finished()) {
            finals.merge(output.requestId(), 1, Integer::sum);
            reasons.put(output.requestId(), output.first().finishReason());
            live.remove(output.requestId());
          }
        }
        if (submitted % 200 == 0) {
          engine.checkBlockInvariants();
        }
      }
      EnginePressureTest.assertAllBlocksFree(engine);
      assertTrue(engine.stats().scheduler().preemptions() > 0);
      EngineStats stats = engine.stats();
      assertEquals(numSchedulerSteps > 1, stats.positionsRun() > stats.steps(), stats.toString());
    }
    if (choosesOnDevice) {
      assertTrue(assembled.model().sampledSteps > 0, "no step was sampled on the device");
    }
    assertEquals(total, finals.size());
    finals.forEach((id, count) -> assertEquals(1, count, id + " ended " + count + " times"));
    assertTrue(reasons.containsValue(FinishReason.ABORT));
    assertTrue(reasons.containsValue(FinishReason.ERROR), "no request hit the cache limit");
    assertTrue(rejected > 0);
    reasons.values().forEach(r -> assertNotNull(r));
    double seconds = (System.nanoTime() - start) / 1e9;
    assertTrue(seconds < 120, "soak took " + seconds + " s");
  }

  private static Request randomRequest(String id, Random random) {
    int length = random.nextInt(100) == 0 ? 0 : 1 + random.nextInt(60);
    if (random.nextInt(150) == 0) {
      length = 300; // over the model's 256 tokens: rejected
    }
    if (random.nextInt(80) == 0) {
      length = 200; // fits the model, never the 48-block cache: finished with an error
    }
    int[] prompt = random.ints(length, 3, 64).toArray();
    SamplingParams.Builder params =
        SamplingParams.builder()
            .maxTokens(1 + random.nextInt(40))
            .ignoreEos(random.nextInt(4) == 0)
            .logprobs(random.nextInt(5) == 0 ? 2 : null);
    switch (random.nextInt(6)) {
      case 0 -> params.temperature(0.5 + random.nextDouble()).seed(random.nextLong()).topP(0.9);
      case 1 -> params.n(1 + random.nextInt(3)).temperature(1).topK(10).seed(random.nextLong());
      case 2 ->
          params
              .numBeams(2 + random.nextInt(2))
              .earlyStopping(random.nextBoolean())
              .noRepeatNgramSize(random.nextInt(3));
      case 3 ->
          params
              .repetitionPenalty(1.2)
              .presencePenalty(0.3)
              .frequencyPenalty(0.2)
              .stop(List.of("w7"))
              .stopTokenIds(List.of(9))
              .minTokens(1)
              .noRepeatNgramSize(random.nextInt(3))
              .badWordsIds(List.of(List.of(3 + random.nextInt(61)), List.of(5, 6)));
      default -> {}
    }
    return Request.ofTokens(id, prompt, params.build());
  }
}
