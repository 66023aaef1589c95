package dev.tandem.core.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.core.config.PreemptionMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Steps whose tokens a backend chooses where the logits are (greedy, or drawn with the rows'
 * settings and the engine's uniform numbers) give every request exactly the tokens of the host
 * path, whatever else shares the step: the engine hands such rows over only when nothing else
 * shapes them, and draws their numbers from the same generators in the same order. With multi-step
 * scheduling the backend chooses several positions in a row, and the tokens are still the same.
 */
class DeviceChoiceTest {

  @ParameterizedTest(name = "num-scheduler-steps {0}")
  @ValueSource(ints = {1, 3})
  void tokensDoNotDependOnWhereTheyAreChosen(int numSchedulerSteps) {
    List<Request> requests = mixedRequests();
    List<RequestOutput> host;
    try (Engine engine = assemble(false, 1).engine()) {
      host = generate(engine, requests);
    }
    ToyModel.Assembled device = assemble(true, numSchedulerSteps);
    List<RequestOutput> onDevice;
    try (Engine engine = device.engine()) {
      onDevice = generate(engine, requests);
      EnginePressureTest.assertAllBlocksFree(engine);
      EngineStats stats = engine.stats();
      if (numSchedulerSteps > 1) {
        assertTrue(stats.positionsRun() > stats.steps(), "no step ran several positions");
      } else {
        assertEquals(stats.steps(), stats.positionsRun());
      }
    }
    assertTrue(device.model().sampledSteps > 0, "no step was sampled on the device");
    assertTrue(device.model().greedySteps > 0, "no step was decided greedily on the device");
    assertTrue(device.model().mixedSteps > 0, "no step mixed backend and host rows");
    assertEquals(host.size(), onDevice.size());
    assertTrue(
        onDevice.stream().anyMatch(o -> o.first().finishMessage() != null),
        "no request stopped at a stop string or stop token");
    for (int i = 0; i < host.size(); i++) {
      List<CompletionOutput> expected = host.get(i).outputs();
      List<CompletionOutput> actual = onDevice.get(i).outputs();
      assertEquals(expected.size(), actual.size(), requests.get(i).requestId());
      for (int j = 0; j < expected.size(); j++) {
        String what = requests.get(i).requestId() + " output " + j;
        assertArrayEquals(expected.get(j).tokenIds(), actual.get(j).tokenIds(), what);
        assertEquals(expected.get(j).finishReason(), actual.get(j).finishReason(), what);
        // The device path returns float log-probabilities; the host keeps doubles.
        assertEquals(
            expected.get(j).cumulativeLogprob(), actual.get(j).cumulativeLogprob(), 1e-4, what);
      }
    }
  }

  /**
   * Multi-step positions stop at each request's length limits: max_tokens, and the model's length
   * (a decoder prompt near it, no max_tokens); EOS is ignored so the limits are what ends them.
   */
  @Test
  void multiStepStopsAtTheLengthLimits() {
    Random random = new Random(5);
    List<Request> requests = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      SamplingParams.Builder params = SamplingParams.builder().ignoreEos(true);
      int[] decoderPrompt = {ToyModel.DECODER_START};
      if (i % 3 == 0) {
        decoderPrompt = random.ints(20 + random.nextInt(100), 3, 64).toArray();
        decoderPrompt[0] = ToyModel.DECODER_START;
      } else {
        params.maxTokens(1 + random.nextInt(20));
      }
      requests.add(
          Request.ofTokens("l" + i, random.ints(3 + i % 5, 3, 64).toArray(), params.build())
              .withDecoderPrompt(Prompt.tokens(decoderPrompt)));
    }
    List<RequestOutput> one;
    try (Engine engine = assemble(false, 1).engine()) {
      one = engine.generate(requests);
    }
    try (Engine engine = assemble(true, 8).engine()) {
      List<RequestOutput> many = engine.generate(requests);
      EngineStats stats = engine.stats();
      assertTrue(stats.positionsRun() > stats.steps(), "no step ran several positions");
      EnginePressureTest.assertAllBlocksFree(engine);
      for (int i = 0; i < requests.size(); i++) {
        EnginePressureTest.assertSameGeneration(one.get(i), many.get(i));
        assertEquals(FinishReason.LENGTH, many.get(i).first().finishReason());
      }
    }
  }

  /** The first four requests (greedy) alone, then the others together. */
  private static List<RequestOutput> generate(Engine engine, List<Request> requests) {
    List<RequestOutput> outputs = new ArrayList<>(engine.generate(requests.subList(0, 4)));
    outputs.addAll(engine.generate(requests.subList(4, requests.size())));
    return outputs;
  }

  private static ToyModel.Assembled assemble(boolean choosesOnDevice, int numSchedulerSteps) {
    return ToyModel.assemble(
        ToyModel.blockManagers().findFirst().orElseThrow(),
        400,
        100,
        PreemptionMode.RECOMPUTE,
        16,
        128,
        choosesOnDevice,
        numSchedulerSteps);
  }

  /**
   * Greedy and sampled requests (temperature, top-k, top-p, min-p; seeded) that the device may
   * take, beside some that need the host on some steps: logprobs, a repetition penalty, min_tokens
   * (EOS masked early on), and n = 2 (its first step forks). The first four are greedy, two of them
   * with stop strings and stop token ids.
   */
  private static List<Request> mixedRequests() {
    Random random = new Random(11);
    List<Request> requests = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      SamplingParams.Builder params =
          SamplingParams.builder().maxTokens(6 + random.nextInt(14)).seed(100L + i);
      if (i == 1 || i == 2) {
        params.stop(List.of("w3")).stopTokenIds(List.of(9, 17)); // stops found after the fact
      }
      if (i >= 4) {
        switch (i % 8) {
          case 0 -> params.temperature(0.8).topK(5);
          case 1 -> params.temperature(1.3).topP(0.9);
          case 2 -> params.temperature(1.0).minP(0.05);
          case 3 -> params.temperature(0.7).topK(40).topP(0.8).minP(0.01);
          case 4 -> params.temperature(1.0).logprobs(2);
          case 5 -> params.temperature(0.9).repetitionPenalty(1.2);
          case 6 -> params.temperature(1.1).minTokens(4);
          default -> params.temperature(1.0).n(2);
        }
      }
      requests.add(
          Request.ofTokens("r" + i, random.ints(3 + i % 9, 3, 64).toArray(), params.build()));
    }
    return requests;
  }
}
