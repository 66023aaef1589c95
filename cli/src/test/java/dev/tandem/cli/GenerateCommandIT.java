package dev.tandem.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.core.config.EngineConfig;
import dev.tandem.core.engine.CompletionOutput;
import dev.tandem.core.engine.Engine;
import dev.tandem.core.engine.Prompt;
import dev.tandem.core.engine.Request;
import dev.tandem.core.engine.RequestOutput;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tandem generate} from the distribution, against the engine run in this JVM on the same
 * model and backend.
 */
class GenerateCommandIT {

  private static final ObjectMapper JSON = new ObjectMapper();

  private static Path model;
  private static Engine engine;

  @BeforeAll
  static void startEngine() {
    model = Launcher.distribution().resolve(Home.BUNDLED_MODEL);
    engine =
        Engine.create(
            EngineConfig.resolve(
                Map.of("model", model.toString(), "backend", "cpu", "num-kv-blocks", "512"),
                Optional.empty(),
                Map.of(),
                Map.of()));
  }

  @AfterAll
  static void closeEngine() {
    engine.close();
  }

  @Test
  void quickStartPromptPrintsTheNumberInWords() {
    Launcher.Run run = Launcher.run("generate", "to words: 4127");
    assertEquals(0, run.exitCode(), run::toString);
    assertEquals("four thousand one hundred twenty-seven\n", run.stdout(), run::toString);
  }

  /**
   * A copy of the distribution elsewhere (as an installation would be) runs too: its AOT cache,
   * made at the build's path, made Java 25 fail at another path, so the launcher skips it there.
   */
  @Test
  void aCopyOfTheDistributionAtAnotherPathRuns(@TempDir Path dir) throws IOException {
    Path copy = dir.resolve("tandem");
    try (var paths = Files.walk(Launcher.distribution())) {
      for (Path source : (Iterable<Path>) paths::iterator) {
        Path target = copy.resolve(Launcher.distribution().relativize(source).toString());
        Files.copy(source, target, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
      }
    }
    Launcher.Run run = Launcher.runFrom(copy, dir, Map.of(), "generate", "to words: 4127");
    assertEquals(0, run.exitCode(), run::toString);
    assertEquals("four thousand one hundred twenty-seven\n", run.stdout(), run::toString);
  }

  /**
   * {@code -v} shows the engine's INFO lines even after the backends were probed (Aparapi's
   * configuration used to set every log handler to WARNING), and multi-step scheduling gives the
   * same words.
   */
  @Test
  void verboseLogsTheEngineAndMultiStepGivesTheSameText() {
    Launcher.Run run =
        Launcher.run("-v", "generate", "--num-scheduler-steps", "4", "to words: 4127");
    assertEquals(0, run.exitCode(), run::toString);
    assertEquals("four thousand one hundred twenty-seven\n", run.stdout(), run::toString);
    assertTrue(run.stderr().contains("INFO: engine: "), run::toString);
    assertTrue(run.stderr().contains("num-scheduler-steps 4"), run::toString);
  }

  @Test
  void onePromptStreamsTheEnginesText() {
    for (String prompt : List.of("to words: 7238", "to digits: nine hundred five")) {
      Launcher.Run run = Launcher.run("generate", "--backend", "cpu", prompt);
      assertEquals(0, run.exitCode(), run::toString);
      assertEquals(
          inProcess(Request.of("x", prompt, greedy())).first().text() + "\n", run.stdout());
    }
  }

  @Test
  void inputFileGivesTheEnginesOutputsInInputOrderAndAnErrorForEachBadLine(@TempDir Path dir)
      throws IOException {
    int[] tokenPrompt = engineTokens("to words: 31");
    List<String> lines =
        List.of(
            "{\"prompt\": \"to words: 1999\"}",
            "{\"prompt_token_ids\": " + java.util.Arrays.toString(tokenPrompt) + "}",
            "not json",
            "",
            "{\"prompt\": \"to words: 64\", \"request_id\": \"mine\", \"max_tokens\": 2}",
            "{\"prompt\": \"to words: 5\", \"no_such_key\": 1}",
            "{\"prompt\": \"to digits: twelve\", \"decoder_prompt\": \"1\"}",
            "{\"prompt\": \"to words: 7777\", \"no_repeat_ngram_size\": 1,"
                + " \"bad_words_ids\": [[5, 6]], \"bad_words\": [\"hundred\"]}");
    Path input = Files.write(dir.resolve("in.jsonl"), lines);
    Launcher.Run run =
        Launcher.run(
            dir,
            Map.of(),
            "generate",
            "--backend",
            "cpu",
            "--json",
            "--input-file",
            input.toString());
    assertEquals(Main.RUNTIME_ERROR, run.exitCode(), "two bad lines: " + run);
    assertTrue(run.stderr().contains("2 of 7 requests failed"), run::toString);
    List<JsonNode> out = parseLines(run.stdout());
    assertEquals(7, out.size(), run::toString);

    List<RequestOutput> expected =
        engine.generate(
            List.of(
                Request.of("0", "to words: 1999", greedy()),
                Request.ofTokens("1", tokenPrompt, greedy()),
                Request.of("mine", "to words: 64", greedy().toBuilder().maxTokens(2).build()),
                new Request("5", Prompt.text("to digits: twelve"), Prompt.text("1"), greedy()),
                Request.of(
                    "6",
                    "to words: 7777",
                    greedy().toBuilder()
                        .noRepeatNgramSize(1)
                        .badWordsIds(List.of(List.of(5, 6)))
                        .badWords(List.of("hundred"))
                        .build())));
    assertMatches(expected.get(0), out.get(0));
    assertMatches(expected.get(1), out.get(1));
    assertTrue(
        out.get(2).get("error").asText().startsWith("line 3: not JSON"), out.get(2)::toString);
    assertMatches(expected.get(2), out.get(3));
    assertEquals("length", out.get(3).at("/outputs/0/finish_reason").asText());
    assertTrue(
        out.get(4).get("error").asText().contains("line 6: unknown key \"no_such_key\""),
        out.get(4)::toString);
    assertEquals("4", out.get(4).get("request_id").asText());
    assertMatches(expected.get(3), out.get(5));
    assertMatches(expected.get(4), out.get(6));
    assertNotEquals(
        inProcess(Request.of("x", "to words: 7777", greedy())).first().text(),
        out.get(6).at("/outputs/0/text").asText(),
        "no_repeat_ngram_size 1 changes 'seven thousand seven hundred seventy-seven'");
  }

  @Test
  void jsonLinesHaveTheDocumentedShape() {
    Launcher.Run run =
        Launcher.run(
            "generate",
            "--backend",
            "cpu",
            "--json",
            "--logprobs",
            "to words: 12",
            "to words: 800");
    assertEquals(0, run.exitCode(), run::toString);
    List<JsonNode> out = parseLines(run.stdout());
    assertEquals(2, out.size());
    for (JsonNode line : out) {
      assertEquals(List.of("request_id", "prompt", "outputs"), fieldNames(line));
      JsonNode first = line.at("/outputs/0");
      assertEquals(
          List.of("text", "token_ids", "cumulative_logprob", "logprobs", "finish_reason"),
          fieldNames(first));
      RequestOutput expected =
          inProcess(
              Request.of(
                  "x", line.get("prompt").asText(), greedy().toBuilder().logprobs(0).build()));
      assertMatches(expected, line);
      // Generated tokens only: the decoder start token (T5: pad, 0) is not among them.
      assertNotEquals(0, first.at("/token_ids/0").asInt());
      assertEquals(first.get("token_ids").size(), first.get("logprobs").size());
      double sum = 0;
      for (JsonNode logprob : first.get("logprobs")) {
        assertTrue(logprob.asDouble() <= 0, first::toString);
        sum += logprob.asDouble();
      }
      assertEquals(first.get("cumulative_logprob").asDouble(), sum, 1e-4);
    }
    assertEquals("0", out.get(0).get("request_id").asText());
    assertEquals("to words: 800", out.get(1).get("prompt").asText());
  }

  @Test
  void missingModelDirectoryIsARuntimeErrorThatNamesIt(@TempDir Path dir) {
    Path missing = dir.resolve("no-such-model");
    Launcher.Run run = Launcher.run("generate", "--model", missing.toString(), "to words: 1");
    assertEquals(Main.RUNTIME_ERROR, run.exitCode(), run::toString);
    assertTrue(run.stderr().contains(missing.toString()), run::toString);
  }

  @Test
  void unknownBackendIsARuntimeErrorThatListsTheAvailableOnes() {
    Launcher.Run run = Launcher.run("generate", "--backend", "tpu", "to words: 1");
    assertEquals(Main.RUNTIME_ERROR, run.exitCode(), run::toString);
    assertTrue(run.stderr().contains("unknown backend 'tpu'"), run::toString);
    for (String name : List.of("cpu", "opencl", "cuda")) {
      assertTrue(run.stderr().contains(name + " ("), name + " listed: " + run);
    }
  }

  @Test
  void unknownOptionIsAUsageErrorThatNamesIt() {
    Launcher.Run run = Launcher.run("generate", "--max-tokenz", "3", "to words: 1");
    assertEquals(Main.USAGE_ERROR, run.exitCode(), run::toString);
    List<String> errors = PluginsCommandIT.errorLines(run);
    assertEquals(1, errors.size(), run::toString);
    assertTrue(errors.getFirst().contains("'--max-tokenz'"), run::toString);
  }

  @Test
  void invalidSamplingFlagIsAUsageError() {
    Launcher.Run run = Launcher.run("generate", "--temperature", "-1", "to words: 1");
    assertEquals(Main.USAGE_ERROR, run.exitCode(), run::toString);
    assertTrue(run.stderr().contains("temperature"), run::toString);
  }

  private static SamplingParams greedy() {
    return engine.defaultSamplingParams().build();
  }

  private static RequestOutput inProcess(Request request) {
    return engine.generate(List.of(request)).getFirst();
  }

  private static int[] engineTokens(String text) {
    return inProcess(Request.of("t", text, greedy().toBuilder().maxTokens(1).build()))
        .promptTokenIds();
  }

  private static void assertMatches(RequestOutput expected, JsonNode actual) {
    assertEquals(expected.outputs().size(), actual.get("outputs").size(), actual::toString);
    for (int i = 0; i < expected.outputs().size(); i++) {
      CompletionOutput want = expected.outputs().get(i);
      JsonNode got = actual.get("outputs").get(i);
      assertEquals(want.text(), got.get("text").asText(), actual::toString);
      List<Integer> ids = new ArrayList<>();
      got.get("token_ids").forEach(id -> ids.add(id.asInt()));
      assertEquals(
          java.util.Arrays.stream(want.tokenIds()).boxed().toList(), ids, actual::toString);
      assertEquals(want.finishReason().label(), got.get("finish_reason").asText());
      assertEquals(want.cumulativeLogprob(), got.get("cumulative_logprob").asDouble(), 1e-4);
    }
  }

  private static List<JsonNode> parseLines(String text) {
    return text.lines()
        .map(
            line -> {
              try {
                return JSON.readTree(line);
              } catch (IOException e) {
                throw new AssertionError("not a JSON line: " + line, e);
              }
            })
        .toList();
  }

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      names.add(it.next());
    }
    return names;
  }
}
