package dev.tandem.core.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.core.checkpoint.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.FieldSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * HuggingFace's {@code no_repeat_ngram_size} and {@code bad_words_ids}, with {@code
 * repetition_penalty}, against its own outputs (the fixtures' "constrained" runs, made by
 * scripts/make-family-fixtures.py): greedy and beam search, given per request or taken from the
 * checkpoint's generation_config.json.
 */
class GenerationConstraintsTest {

  /** The fixtures with a "constrained" run. */
  static final List<String> FAMILIES =
      List.of("flan-t5-tiny", "mt5-tiny", "mbart-tiny", "marian-tiny");

  private static final String MANAGER = ToyModel.blockManagers().findFirst().orElseThrow();

  private static SamplingParams.Builder constrained(JsonNode rules) {
    List<List<Integer>> bad = new ArrayList<>();
    for (JsonNode word : rules.get("bad_words_ids")) {
      bad.add(Arrays.stream(RealModels.ints(word)).boxed().toList());
    }
    return SamplingParams.builder()
        .repetitionPenalty(rules.get("repetition_penalty").asDouble())
        .noRepeatNgramSize(rules.get("no_repeat_ngram_size").asInt())
        .badWordsIds(bad);
  }

  private static List<Request> requests(JsonNode golden, SamplingParams params) {
    List<Request> requests = new ArrayList<>();
    for (int i = 0; i < golden.get("input_ids").size(); i++) {
      requests.add(
          Request.ofTokens("c" + i, RealModels.ints(golden.get("input_ids").get(i)), params));
    }
    return requests;
  }

  /** HuggingFace's sequences start with the decoder start token; ours are the generated ones. */
  private static int[] generated(JsonNode sequence) {
    int[] ids = RealModels.ints(sequence);
    return Arrays.copyOfRange(ids, 1, ids.length);
  }

  private static void assertGreedy(JsonNode golden, Engine engine, SamplingParams.Builder params) {
    int tokens = golden.get("generation").get("max_new_tokens").asInt();
    JsonNode expected = golden.get("constrained").get("greedy_sequences");
    List<RequestOutput> outputs =
        engine.generate(requests(golden, params.maxTokens(tokens).minTokens(tokens).build()));
    for (int i = 0; i < outputs.size(); i++) {
      assertArrayEquals(
          generated(expected.get(i)), outputs.get(i).first().tokenIds(), "prompt " + i);
    }
    EnginePressureTest.assertAllBlocksFree(engine);
  }

  @ParameterizedTest
  @FieldSource("FAMILIES")
  void greedyMatchesHuggingFace(String fixture) {
    JsonNode golden = RealModels.golden(fixture);
    JsonNode unconstrained = golden.get("greedy_sequences");
    JsonNode expected = golden.get("constrained").get("greedy_sequences");
    int differ = 0;
    for (int i = 0; i < expected.size(); i++) {
      differ += Arrays.equals(generated(expected.get(i)), generated(unconstrained.get(i))) ? 0 : 1;
    }
    assertTrue(differ >= 2, "the bans change at least two prompts' outputs, not " + differ);
    // multi-step: these rows are chosen on the host at every position of a step
    for (String steps : List.of("1", "4")) {
      try (Engine engine =
          RealModels.engine(
              Fixtures.fixture(fixture), MANAGER, Map.of("num-scheduler-steps", steps))) {
        assertGreedy(golden, engine, constrained(golden.get("constrained")));
      }
    }
  }

  static Stream<Arguments> familiesOnEveryBackend() {
    return RealModels.onEveryBackend(FAMILIES);
  }

  @ParameterizedTest(name = "{0} on {1}")
  @MethodSource("familiesOnEveryBackend")
  void beamSearchMatchesHuggingFace(String fixture, String backend) {
    JsonNode golden = RealModels.golden(fixture);
    JsonNode rules = golden.get("constrained");
    JsonNode beam = rules.get("beam_search");
    SamplingParams params = RealModels.beamSearch(beam, constrained(rules)).build();
    try (Engine engine =
        RealModels.engine(Fixtures.fixture(fixture), MANAGER, Map.of("backend", backend))) {
      List<RequestOutput> outputs = engine.generate(requests(golden, params));
      for (int i = 0; i < outputs.size(); i++) {
        assertArrayEquals(
            generated(beam.get("sequences").get(i)),
            outputs.get(i).first().tokenIds(),
            fixture + " prompt " + i);
        assertEquals(
            beam.get("sequences_scores").get(i).asDouble(),
            outputs.get(i).first().score(),
            1e-4,
            fixture + " prompt " + i);
      }
      EnginePressureTest.assertAllBlocksFree(engine);
    }
  }

  /** A checkpoint whose generation_config.json sets both, as Marian's and BART-CNN's files do. */
  @Test
  void generationConfigDefaultsApply(@TempDir Path dir) throws IOException {
    String fixture = "mbart-tiny";
    JsonNode golden = RealModels.golden(fixture);
    Path source = Fixtures.fixture(fixture);
    for (String file : List.of("config.json", "model.safetensors", "tokenizer.json")) {
      Files.copy(source.resolve(file), dir.resolve(file));
    }
    ObjectNode generation = (ObjectNode) RealModels.json(source.resolve("generation_config.json"));
    for (String key : List.of("repetition_penalty", "no_repeat_ngram_size", "bad_words_ids")) {
      generation.set(key, golden.get("constrained").get(key));
    }
    Files.writeString(dir.resolve("generation_config.json"), generation.toString());
    try (Engine engine = RealModels.engine(dir, MANAGER, Map.of())) {
      SamplingParams defaults = engine.defaultSamplingParams().build();
      assertEquals(2, defaults.noRepeatNgramSize());
      assertEquals(2, defaults.badWordsIds().size());
      assertGreedy(golden, engine, engine.defaultSamplingParams());
    }
  }

  /**
   * HuggingFace's min_length from generation_config.json, with an EOS that the model emits before
   * that length (the fixtures' "min_length" runs): greedy and beam search hold it back until then.
   * min_length counts the decoder start token.
   */
  @ParameterizedTest
  @FieldSource("FAMILIES")
  void minLengthFromTheModelsFilesMatchesHuggingFace(String fixture, @TempDir Path dir)
      throws IOException {
    JsonNode golden = RealModels.golden(fixture);
    JsonNode run = golden.get("min_length");
    Path source = Fixtures.fixture(fixture);
    for (String file : List.of("config.json", "model.safetensors", "tokenizer.json")) {
      Files.copy(source.resolve(file), dir.resolve(file));
    }
    ObjectNode generation = (ObjectNode) RealModels.json(source.resolve("generation_config.json"));
    for (String key : List.of("eos_token_id", "min_length", "max_new_tokens")) {
      generation.set(key, run.get(key));
    }
    Files.writeString(dir.resolve("generation_config.json"), generation.toString());
    List<RequestOutput> unheld;
    try (Engine engine = RealModels.engine(dir, MANAGER, Map.of())) {
      // Capped by max_tokens, not an error; given per request, min_tokens wins.
      for (RequestOutput capped :
          engine.generate(requests(golden, SamplingParams.builder().maxTokens(3).build()))) {
        assertEquals(3, capped.first().tokenIds().length);
      }
      unheld = engine.generate(requests(golden, SamplingParams.builder().minTokens(0).build()));
      List<RequestOutput> greedy = engine.generate(requests(golden, SamplingParams.greedy()));
      JsonNode beam = run.get("beam_search");
      List<RequestOutput> beams =
          engine.generate(
              requests(golden, RealModels.beamSearch(beam, SamplingParams.builder()).build()));
      for (int i = 0; i < greedy.size(); i++) {
        assertArrayEquals(
            generated(run.get("greedy_sequences").get(i)),
            greedy.get(i).first().tokenIds(),
            "greedy, prompt " + i);
        assertArrayEquals(
            generated(beam.get("sequences").get(i)),
            beams.get(i).first().tokenIds(),
            "beam search, prompt " + i);
        assertEquals(
            beam.get("sequences_scores").get(i).asDouble(),
            beams.get(i).first().score(),
            1e-4,
            "beam search, prompt " + i);
      }
      EnginePressureTest.assertAllBlocksFree(engine);
    }
    // HuggingFace: min_new_tokens, when set, takes precedence over min_length.
    generation.put("min_new_tokens", 0);
    Files.writeString(dir.resolve("generation_config.json"), generation.toString());
    try (Engine engine = RealModels.engine(dir, MANAGER, Map.of())) {
      List<RequestOutput> greedy = engine.generate(requests(golden, SamplingParams.greedy()));
      for (int i = 0; i < greedy.size(); i++) {
        assertArrayEquals(unheld.get(i).first().tokenIds(), greedy.get(i).first().tokenIds());
      }
    }
  }

  /**
   * vLLM's bad_words through the engine: the words' ids are banned as bad_words_ids would be. On
   * numwords-t5, "seven" is one piece (34) and HuggingFace's generate() with bad_words_ids [[34]]
   * answers "to words: 7777" with "seventy-seven thousande hundred seventy-seven" (transformers
   * 5.18.0): so does the engine.
   */
  @Test
  void badWordsAreTokenizedAndBanned() {
    SamplingParams.Builder params = SamplingParams.builder().maxTokens(48);
    try (Engine engine = RealModels.engine(Fixtures.numwordsT5(), MANAGER, Map.of())) {
      List<RequestOutput> outputs =
          engine.generate(
              List.of(
                  Request.of("plain", "to words: 7777", params.build()),
                  Request.of("words", "to words: 7777", params.badWords(List.of("seven")).build()),
                  Request.of(
                      "ids",
                      "to words: 7777",
                      params.badWords(List.of()).badWordsIds(List.of(List.of(34))).build())));
      assertEquals("seven thousand seven hundred seventy-seven", outputs.get(0).first().text());
      assertEquals("seventy-seven thousande hundred seventy-seven", outputs.get(1).first().text());
      assertArrayEquals(outputs.get(2).first().tokenIds(), outputs.get(1).first().tokenIds());
      EnginePressureTest.assertAllBlocksFree(engine);
    }
  }
}
