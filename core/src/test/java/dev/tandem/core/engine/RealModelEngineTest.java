package dev.tandem.core.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.api.backend.KvCacheSpec;
import dev.tandem.api.sequence.OutputKind;
import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.core.checkpoint.Fixtures;
import dev.tandem.core.config.EngineConfig;
import dev.tandem.core.config.PreemptionMode;
import dev.tandem.core.sampling.PositionLogprobs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.FieldSource;
import org.junit.jupiter.params.provider.MethodSource;

/** The engine on real checkpoints against HuggingFace's outputs, and under KV-cache pressure. */
class RealModelEngineTest {

  static Stream<Arguments> fixturesOnEveryBackend() {
    return RealModels.onEveryBackend(Fixtures.HUGGING_FACE);
  }

  /**
   * On every backend: the beams fork decoder sequences that share one cross table, on the device
   * too (vLLM once gave beams the wrong cross-attention metadata).
   */
  @ParameterizedTest(name = "{0} on {1}")
  @MethodSource("fixturesOnEveryBackend")
  void beamSearchMatchesHuggingFace(String fixture, String backend) {
    JsonNode golden = RealModels.golden(fixture);
    JsonNode beam = golden.get("beam_search");
    SamplingParams params = RealModels.beamSearch(beam, SamplingParams.builder()).build();
    List<Request> requests = new ArrayList<>();
    for (int i = 0; i < golden.get("input_ids").size(); i++) {
      requests.add(
          Request.ofTokens("b" + i, RealModels.ints(golden.get("input_ids").get(i)), params));
    }
    String manager = ToyModel.blockManagers().findFirst().orElseThrow();
    try (Engine engine =
        RealModels.engine(Fixtures.fixture(fixture), manager, Map.of("backend", backend))) {
      List<RequestOutput> outputs = engine.generate(requests);
      for (int i = 0; i < outputs.size(); i++) {
        int[] expected = RealModels.ints(beam.get("sequences").get(i));
        CompletionOutput best = outputs.get(i).first();
        int[] actual = new int[best.tokenIds().length + 1];
        actual[0] = expected[0]; // HuggingFace's sequences start with decoder_start_token_id
        System.arraycopy(best.tokenIds(), 0, actual, 1, best.tokenIds().length);
        assertArrayEquals(expected, actual, fixture + " prompt " + i);
        double score = beam.get("sequences_scores").get(i).asDouble();
        assertEquals(score, best.score(), 1e-4, fixture + " prompt " + i);
      }
      EnginePressureTest.assertAllBlocksFree(engine);
    }
  }

  /**
   * An embedder's engine with no cache setting at all: on the cpu backend the KV cache and the swap
   * pool (swap-space, 1 GiB by default) share the heap, so the cache takes its share of what the
   * swap pool leaves (it used to take 90% of the free heap and the swap pool failed to fit).
   */
  @Test
  void defaultCacheSizingLeavesRoomForTheSwapPool() {
    Map<String, String> flags =
        Map.of("model", Fixtures.numwordsT5().toString(), "backend", "cpu", "num-threads", "2");
    try (Engine engine =
        Engine.create(EngineConfig.resolve(flags, Optional.empty(), Map.of(), Map.of()))) {
      EngineStats stats = engine.stats();
      // numwords-t5: 4 decoder layers, 4 heads of 32; blocks of 16 tokens (the default).
      long bytesPerBlock = KvCacheSpec.bytesPerBlock(4, 16, 4, 32);
      assertTrue(stats.totalCpuBlocks() * bytesPerBlock >= 1L << 30, "swap pool: " + stats);
      assertTrue(
          (stats.totalGpuBlocks() + stats.totalCpuBlocks()) * bytesPerBlock
              < Runtime.getRuntime().maxMemory(),
          "KV cache and swap pool exceed the heap: " + stats);
      SamplingParams params = SamplingParams.builder().maxTokens(64).build();
      RequestOutput out =
          engine.generate(List.of(Request.of("d", "to words: 4127", params))).getFirst();
      assertEquals("four thousand one hundred twenty-seven", out.first().text());
    }
  }

  /**
   * Beam search with logprobs=k: the same beams and scores as without, and per generated position
   * the chosen token (its log-probability adds up to the sequence's) with the k best of its row.
   */
  @Test
  void beamSearchReturnsPerTokenLogprobs() {
    JsonNode golden = RealModels.golden("t5-tiny");
    JsonNode beam = golden.get("beam_search");
    SamplingParams.Builder plain =
        RealModels.beamSearch(beam, SamplingParams.builder().n(beam.get("num_beams").asInt()));
    int[] prompt = RealModels.ints(golden.get("input_ids").get(0));
    String manager = ToyModel.blockManagers().findFirst().orElseThrow();
    try (Engine engine = RealModels.engine(Fixtures.fixture("t5-tiny"), manager, Map.of())) {
      List<RequestOutput> outs =
          engine.generate(
              List.of(
                  Request.ofTokens("plain", prompt, plain.build()),
                  Request.ofTokens("logprobs", prompt, plain.logprobs(2).build())));
      List<CompletionOutput> without = outs.get(0).outputs();
      List<CompletionOutput> with = outs.get(1).outputs();
      assertEquals(without.size(), with.size());
      for (int i = 0; i < with.size(); i++) {
        CompletionOutput a = without.get(i);
        CompletionOutput b = with.get(i);
        assertArrayEquals(a.tokenIds(), b.tokenIds(), "beam " + i);
        // Not bit for bit: the two requests' rows can differ in the last bits (the Vector API
        // leaves the order of float lane sums open, and interpreted and compiled kernels may
        // differ); 1e-6 is far below what a different beam or a wrong log-probability changes.
        assertEquals(a.score(), b.score(), 1e-6, "beam " + i);
        assertNull(a.logprobs());
        assertEquals(b.tokenIds().length, b.logprobs().size(), "one entry per generated token");
        double sum = 0;
        for (int t = 0; t < b.tokenIds().length; t++) {
          PositionLogprobs position = b.logprobs().get(t);
          assertEquals(b.tokenIds()[t], position.chosen().token());
          assertEquals(2, position.top().size());
          assertTrue(position.top().get(0).logprob() >= position.top().get(1).logprob());
          assertTrue(position.chosen().logprob() <= position.top().get(0).logprob());
          assertTrue(position.chosen().rank() >= 1);
          sum += position.chosen().logprob();
        }
        assertEquals(b.cumulativeLogprob(), sum, 1e-4, "the positions add up, beam " + i);
      }
    }
  }

  @ParameterizedTest
  @FieldSource("dev.tandem.core.checkpoint.Fixtures#HUGGING_FACE")
  void greedyMatchesHuggingFace(String fixture) {
    JsonNode golden = RealModels.golden(fixture);
    int tokens = golden.get("generation").get("max_new_tokens").asInt();
    SamplingParams params = SamplingParams.builder().maxTokens(tokens).minTokens(tokens).build();
    List<Request> requests = new ArrayList<>();
    for (int i = 0; i < golden.get("prompts").size(); i++) {
      requests.add(Request.of("g" + i, golden.get("prompts").get(i).asText(), params));
    }
    String manager = ToyModel.blockManagers().findFirst().orElseThrow();
    try (Engine engine = RealModels.engine(Fixtures.fixture(fixture), manager, Map.of())) {
      List<RequestOutput> outputs = engine.generate(requests);
      for (int i = 0; i < outputs.size(); i++) {
        int[] expected = RealModels.ints(golden.get("greedy_sequences").get(i));
        assertArrayEquals(
            RealModels.ints(golden.get("input_ids").get(i)), outputs.get(i).promptTokenIds());
        assertArrayEquals(
            Arrays.copyOfRange(expected, 1, expected.length), outputs.get(i).first().tokenIds());
      }
    }
  }

  /**
   * Plain greedy steps choose their tokens on the backend (AttentionBackend.greedy, two values read
   * back per row); asking for logprobs sends the same requests through the host sampler, which
   * reads the whole logits rows. Both give the same tokens and cumulative log-probabilities.
   */
  @Test
  void greedyOnTheBackendEqualsTheHostSampler() {
    JsonNode examples = RealModels.numwordsEval().get("examples");
    List<Request> plain = new ArrayList<>();
    List<Request> withLogprobs = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      String prompt = examples.get(i).get("prompt").asText();
      plain.add(Request.of("p" + i, prompt, SamplingParams.builder().build()));
      withLogprobs.add(Request.of("p" + i, prompt, SamplingParams.builder().logprobs(0).build()));
    }
    String manager = ToyModel.blockManagers().findFirst().orElseThrow();
    List<RequestOutput> a;
    List<RequestOutput> b;
    try (Engine engine = RealModels.engine(Fixtures.numwordsT5(), manager, Map.of())) {
      a = engine.generate(plain);
      b = engine.generate(withLogprobs);
    }
    for (int i = 0; i < a.size(); i++) {
      CompletionOutput x = a.get(i).first();
      CompletionOutput y = b.get(i).first();
      assertArrayEquals(y.tokenIds(), x.tokenIds(), "prompt " + i);
      assertEquals(y.cumulativeLogprob(), x.cumulativeLogprob(), 1e-4, "prompt " + i);
      assertTrue(x.cumulativeLogprob() < 0, "a real log-probability: " + x.cumulativeLogprob());
      assertNull(x.logprobs());
    }
  }

  /**
   * A batch mixing plain greedy rows with rows the host must decide (logprobs asked for; seeded
   * sampling, which the cpu backend leaves to the host): the backend chooses the plain rows and
   * only the others' logits come back. Every request gets what it gets when the whole batch is
   * decided on the host.
   */
  @Test
  void mixedStepsEqualTheHostSampler() {
    JsonNode examples = RealModels.numwordsEval().get("examples");
    List<Request> mixed = new ArrayList<>();
    List<Request> onHost = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      String prompt = examples.get(i).get("prompt").asText();
      SamplingParams.Builder params = SamplingParams.builder().seed(7L + i);
      switch (i % 4) {
        case 0 -> params.logprobs(1);
        case 1 -> params.temperature(0.8).topK(5);
        default -> {}
      }
      mixed.add(Request.of("m" + i, prompt, params.build()));
      onHost.add(Request.of("m" + i, prompt, params.logprobs(1).build()));
    }
    String manager = ToyModel.blockManagers().findFirst().orElseThrow();
    Map<String, RequestOutput> host;
    try (Engine engine = RealModels.engine(Fixtures.numwordsT5(), manager, Map.of())) {
      host = EnginePressureTest.byId(engine.generate(onHost));
    }
    try (Engine engine = RealModels.engine(Fixtures.numwordsT5(), manager, Map.of())) {
      Map<String, RequestOutput> got = EnginePressureTest.byId(engine.generate(mixed));
      for (Request request : mixed) {
        EnginePressureTest.assertSameGeneration(
            host.get(request.requestId()), got.get(request.requestId()));
      }
      EnginePressureTest.assertAllBlocksFree(engine);
    }
  }

  /**
   * FINAL_ONLY requests (what generate() and the benchmark use) produce one output each, when they
   * finish, and it is the final output of the same request run with an output every step: text,
   * ids, log-probability and finish reason; stop strings still cut the text, an abort still returns
   * the text so far.
   */
  @Test
  void finalOnlyOutputsAreTheCumulativeRunsFinals() {
    JsonNode examples = RealModels.numwordsEval().get("examples");
    String manager = ToyModel.blockManagers().findFirst().orElseThrow();
    Map<OutputKind, Map<String, List<RequestOutput>>> byKind =
        new java.util.EnumMap<>(OutputKind.class);
    for (OutputKind kind : OutputKind.values()) {
      Map<String, List<RequestOutput>> outputs = new java.util.HashMap<>();
      try (Engine engine = RealModels.engine(Fixtures.numwordsT5(), manager, Map.of())) {
        for (int i = 0; i < 30; i++) {
          SamplingParams.Builder params = SamplingParams.builder().outputKind(kind);
          if (i % 3 == 0) {
            params.stop(List.of("hundred"));
          }
          engine.addRequest(
              Request.of("r" + i, examples.get(i).get("prompt").asText(), params.build()));
        }
        for (int step = 0; engine.hasUnfinished(); step++) {
          if (step == 2) {
            engine.abort("r1");
          }
          for (RequestOutput output : engine.step()) {
            outputs.computeIfAbsent(output.requestId(), id -> new ArrayList<>()).add(output);
          }
        }
        EnginePressureTest.assertAllBlocksFree(engine);
      }
      byKind.put(kind, outputs);
    }
    Map<String, List<RequestOutput>> cumulative = byKind.get(OutputKind.CUMULATIVE);
    Map<String, List<RequestOutput>> finalOnly = byKind.get(OutputKind.FINAL_ONLY);
    assertEquals(cumulative.keySet(), finalOnly.keySet());
    boolean stopped = false;
    for (String id : cumulative.keySet()) {
      List<RequestOutput> only = finalOnly.get(id);
      assertEquals(1, only.size(), id + ": " + only.size() + " outputs");
      assertTrue(cumulative.get(id).size() > 1, id);
      CompletionOutput expected = cumulative.get(id).getLast().first();
      CompletionOutput actual = only.getFirst().first();
      assertTrue(only.getFirst().finished(), id);
      assertEquals(expected.text(), actual.text(), id);
      assertArrayEquals(expected.tokenIds(), actual.tokenIds(), id);
      // ~1e-7 apart: a JVM's first run is partly interpreted, and the interpreter adds vector
      // lanes in another order than C2 (reduceLanes(ADD) leaves the order open).
      assertEquals(expected.cumulativeLogprob(), actual.cumulativeLogprob(), 1e-5, id);
      assertEquals(expected.finishReason(), actual.finishReason(), id);
      assertEquals(expected.finishMessage(), actual.finishMessage(), id);
      stopped |= "hundred".equals(actual.finishMessage());
    }
    assertTrue(stopped, "no request stopped at its stop string");
    CompletionOutput aborted = finalOnly.get("r1").getFirst().first();
    assertEquals(FinishReason.ABORT, aborted.finishReason());
    assertTrue(!aborted.text().isEmpty(), "the aborted request's text so far");
  }

  /**
   * A model whose config forces EOS at the last position max_tokens allows (as BART's configs do;
   * here numwords-t5 with {@code forced_eos_token_id} added): the backend chooses the other tokens
   * and the engine puts the forced one in place (log-probability 0), one position a step and eight;
   * the host sampler (asked for logprobs, so it reads the logits) gives the same tokens.
   */
  @Test
  void forcedEosOnTheBackendEqualsTheHostSampler(@TempDir Path dir) throws Exception {
    Path model = Files.createDirectories(dir.resolve("numwords-forced-eos"));
    try (var files = Files.list(Fixtures.numwordsT5())) {
      for (Path file : (Iterable<Path>) files::iterator) {
        Files.copy(file, model.resolve(file.getFileName().toString()));
      }
    }
    var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
    var config =
        (com.fasterxml.jackson.databind.node.ObjectNode)
            mapper.readTree(model.resolve("config.json").toFile());
    config.put("forced_eos_token_id", 1);
    mapper.writeValue(model.resolve("config.json").toFile(), config);
    JsonNode examples = RealModels.numwordsEval().get("examples");
    List<Request> plain = new ArrayList<>();
    List<Request> onHost = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      String prompt = examples.get(i).get("prompt").asText();
      SamplingParams.Builder params = SamplingParams.builder().maxTokens(2 + i % 9);
      plain.add(Request.of("f" + i, prompt, params.build()));
      onHost.add(Request.of("f" + i, prompt, params.logprobs(0).build()));
    }
    String manager = ToyModel.blockManagers().findFirst().orElseThrow();
    Map<String, RequestOutput> host;
    try (Engine engine = RealModels.engine(model, manager, Map.of())) {
      host = EnginePressureTest.byId(engine.generate(onHost));
    }
    int forced = 0;
    for (String steps : List.of("1", "8")) {
      try (Engine engine =
          RealModels.engine(model, manager, Map.of("num-scheduler-steps", steps))) {
        Map<String, RequestOutput> device = EnginePressureTest.byId(engine.generate(plain));
        assertEquals(engine.stats().steps(), engine.stats().stepsChosenOnDevice(), steps);
        for (Request request : plain) {
          EnginePressureTest.assertSameGeneration(
              host.get(request.requestId()), device.get(request.requestId()));
          int[] ids = device.get(request.requestId()).first().tokenIds();
          if (ids.length == request.samplingParams().maxTokens() && ids[ids.length - 1] == 1) {
            forced++;
          }
        }
      }
      if (steps.equals("8")) {
        assertTrue(forced > 8, "too few requests ended with the forced EOS: " + forced);
      }
    }
  }

  /**
   * BART's learned positions end at max_position_embeddings (128 for bart-tiny): multi-step
   * decoding must not run a sequence past them, whatever its decoder prompt leaves. Eight positions
   * a step; half the requests' decoder prompts end 1 to 10 tokens before the model's length, the
   * others start short with max_tokens 40; EOS ignored: the tokens of one position a step, every
   * request ending at a length limit.
   */
  @Test
  void multiStepStopsAtBartsLastPosition() {
    java.util.Random random = new java.util.Random(3);
    List<Request> requests = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      boolean nearTheEnd = i % 2 == 0;
      int[] decoderPrompt = random.ints(nearTheEnd ? 127 - i / 2 : 1, 4, 1000).toArray();
      decoderPrompt[0] = 2; // bart-tiny's decoder_start_token_id
      SamplingParams.Builder params = SamplingParams.builder().ignoreEos(true);
      if (!nearTheEnd) {
        params.maxTokens(40);
      }
      requests.add(
          Request.ofTokens("b" + i, random.ints(5 + i, 4, 1000).toArray(), params.build())
              .withDecoderPrompt(Prompt.tokens(decoderPrompt)));
    }
    String manager = ToyModel.blockManagers().findFirst().orElseThrow();
    Map<String, RequestOutput> one;
    try (Engine engine = RealModels.engine(Fixtures.fixture("bart-tiny"), manager, Map.of())) {
      one = EnginePressureTest.byId(engine.generate(requests));
    }
    try (Engine engine =
        RealModels.engine(
            Fixtures.fixture("bart-tiny"), manager, Map.of("num-scheduler-steps", "8"))) {
      Map<String, RequestOutput> many = EnginePressureTest.byId(engine.generate(requests));
      EngineStats stats = engine.stats();
      assertTrue(stats.positionsRun() > stats.steps(), "no step ran several positions");
      for (Request request : requests) {
        RequestOutput output = many.get(request.requestId());
        assertEquals(FinishReason.LENGTH, output.first().finishReason(), output.toString());
        EnginePressureTest.assertSameGeneration(one.get(request.requestId()), output);
      }
    }
  }

  /** Each block manager and preemption mode, with one position per step and with multi-step. */
  static Stream<Arguments> managersModesAndSteps() {
    return EnginePressureTest.managersAndModes()
        .flatMap(a -> Stream.of(1, 4).map(steps -> Arguments.of(a.get()[0], a.get()[1], steps)));
  }

  /** The 200 requests of the pressure test and their outputs with an ample cache, computed once. */
  private static List<Request> pressureRequests;

  private static Map<String, RequestOutput> ampleOutputs;

  private static synchronized void runAmple() {
    if (ampleOutputs != null) {
      return;
    }
    JsonNode examples = RealModels.numwordsEval().get("examples");
    List<Request> requests = new ArrayList<>();
    List<String> texts = new ArrayList<>();
    for (JsonNode example : examples) {
      texts.add(example.get("prompt").asText());
    }
    for (String fixture : List.of("t5-tiny", "bart-tiny")) {
      for (JsonNode prompt : RealModels.golden(fixture).get("prompts")) {
        texts.add(prompt.asText());
      }
    }
    for (int i = 0; texts.size() < 200; i++) {
      String text = texts.get(i);
      texts.add(i % 2 == 0 ? text.toUpperCase(Locale.ROOT) : "to digits: " + text);
    }
    for (int i = 0; i < texts.size(); i++) {
      // Greedy; a few groups with two seeded samples make swapping happen in recompute mode too.
      SamplingParams.Builder params = SamplingParams.builder();
      if (i % 25 == 24) {
        params.n(2).temperature(0.5).seed((long) i);
      }
      requests.add(Request.of("q" + i, texts.get(i), params.build()));
    }
    String manager = ToyModel.blockManagers().findFirst().orElseThrow();
    try (Engine engine =
        RealModels.engine(Fixtures.numwordsT5(), manager, Map.of("max-num-seqs", "64"))) {
      ampleOutputs = EnginePressureTest.byId(engine.generate(requests));
    }
    for (int i = 0; i < examples.size(); i++) {
      int[] hf = RealModels.ints(examples.get(i).get("hf_greedy_ids"));
      int[] ours = ampleOutputs.get("q" + i).first().tokenIds();
      assertArrayEquals(Arrays.copyOfRange(hf, 1, 1 + ours.length), ours, "eval prompt " + i);
    }
    pressureRequests = requests;
  }

  /**
   * 200 greedy requests (the numwords eval prompts, then fixture prompts and variants) on the
   * numwords model: a cache so small that groups are preempted gives exactly the outputs of an
   * ample one, and those equal HuggingFace's greedy ids. With multi-step scheduling (four positions
   * per step where every row allows) too: the backend feeds its chosen tokens back through the
   * lookahead slots, and the stops found afterwards drop whatever followed them.
   */
  @ParameterizedTest(name = "{0} {1} num-scheduler-steps {2}")
  @MethodSource("managersModesAndSteps")
  void pressureChangesNothingOnARealModel(
      String manager, PreemptionMode mode, int numSchedulerSteps) {
    runAmple();
    List<Request> requests = pressureRequests;
    Map<String, RequestOutput> ample = ampleOutputs;
    Map<String, String> tight =
        Map.of(
            "max-num-seqs", "64",
            "num-kv-blocks", "40",
            "swap-blocks", "400",
            "block-size", "4",
            "preemption", mode.name().toLowerCase(Locale.ROOT),
            "num-scheduler-steps", String.valueOf(numSchedulerSteps));
    try (Engine engine = RealModels.engine(Fixtures.numwordsT5(), manager, tight)) {
      Map<String, RequestOutput> pressed = EnginePressureTest.byId(engine.generate(requests));
      SchedulerStats stats = engine.stats().scheduler();
      assertTrue(stats.preemptions() > 0, "no preemption: " + stats);
      assertTrue(stats.swapOuts() > 0, "no swap: " + stats);
      if (mode == PreemptionMode.RECOMPUTE) {
        assertTrue(stats.recomputations() > 0, "no recomputation: " + stats);
      }
      for (Request request : requests) {
        EnginePressureTest.assertSameGeneration(
            ample.get(request.requestId()), pressed.get(request.requestId()));
      }
      EnginePressureTest.assertAllBlocksFree(engine);
      EngineStats counts = engine.stats();
      assertEquals(
          numSchedulerSteps > 1, counts.positionsRun() > counts.steps(), counts.toString());
    }
  }
}
