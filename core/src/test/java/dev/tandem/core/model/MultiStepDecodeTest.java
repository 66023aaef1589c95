package dev.tandem.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.backend.BackendConfig;
import dev.tandem.api.backend.SamplingRows;
import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.core.runner.ModelRunner;
import dev.tandem.core.runner.ScheduledStep;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Multi-step decoding on every available backend: a decode step of K positions feeds each chosen
 * token to the next position on the backend itself, without reading it back in between. Its tokens
 * and log-probabilities must be those of K steps of one position, whose inputs go through the host,
 * and its greedy tokens HuggingFace's.
 */
class MultiStepDecodeTest {

  private static final int BLOCK_SIZE = 4;
  private static final int STEPS = 4; // decode steps of K = 4 positions after the prefill
  private static final int POSITIONS = 4;

  /**
   * Greedy over numwords-t5 (a trained model) and flan-t5-tiny, whose tokens vary from one position
   * to the next (the shared tiny fixtures' greedy tokens do not); sampled over the shared fixtures.
   */
  static Stream<Arguments> cases() {
    List<Arguments> cases = new ArrayList<>();
    for (AttentionBackendProvider backend : Providers.backends()) {
      cases.add(Arguments.of(backend, "numwords-t5", false));
      cases.add(Arguments.of(backend, "flan-t5-tiny", false));
      cases.add(Arguments.of(backend, "t5-tiny", true));
      cases.add(Arguments.of(backend, "bart-tiny", true));
    }
    return cases.stream();
  }

  /** Prompts and decoder starts; greedy: per prompt, HuggingFace's tokens up to its EOS. */
  private record Workload(Path dir, int[][] prompts, int[] starts, int[][] hfGreedy) {

    static Workload of(String name) {
      if (!name.equals("numwords-t5")) {
        Golden golden = Golden.load(name);
        int[] starts = Arrays.stream(golden.greedy()).mapToInt(sequence -> sequence[0]).toArray();
        int[][] hfGreedy =
            Arrays.stream(golden.greedy())
                .map(sequence -> Arrays.copyOfRange(sequence, 1, sequence.length))
                .toArray(int[][]::new);
        return new Workload(golden.dir(), golden.inputs(), starts, hfGreedy);
      }
      JsonNode examples = Fixtures.json(Fixtures.numwords().resolve("eval.json")).get("examples");
      int[][] prompts = new int[8][];
      int[][] hfGreedy = new int[8][];
      for (int b = 0; b < prompts.length; b++) {
        prompts[b] = Fixtures.ints(examples.get(b).get("input_ids"));
        int[] hf = Fixtures.ints(examples.get(b).get("hf_greedy_ids")); // start, tokens, EOS, pads
        int eos = 1;
        while (hf[eos] != 1) {
          eos++;
        }
        hfGreedy[b] = Arrays.copyOfRange(hf, 1, eos + 1);
      }
      return new Workload(Fixtures.numwords(), prompts, new int[prompts.length], hfGreedy);
    }
  }

  @ParameterizedTest(name = "{0} {1} sampled {2}", allowZeroInvocations = true)
  @MethodSource("cases")
  void positionsChosenOnTheBackendEqualSingleSteps(
      AttentionBackendProvider provider, String model, boolean sampled) {
    Workload workload = Workload.of(model);
    try (AttentionBackend backend = provider.create(BackendConfig.defaults());
        LoadedModel loaded = ModelLoader.load(workload.dir(), backend, new ModelLimits(256, 8))) {
      if (sampled && !backend.samplesOnDevice()) {
        System.out.println(provider.name() + " does not sample on the device: greedy only");
        return;
      }
      Generated single = generate(workload, backend, loaded, sampled, 1);
      Generated multi = generate(workload, backend, loaded, sampled, POSITIONS);
      for (int b = 0; b < workload.prompts().length; b++) {
        assertArrayEquals(single.ids()[b], multi.ids()[b], "prompt " + b + ": tokens");
        for (int t = 0; t < single.logprobs()[b].length; t++) {
          float expected = single.logprobs()[b][t];
          assertEquals(
              expected,
              multi.logprobs()[b][t],
              1e-5f * Math.max(1, Math.abs(expected)),
              "prompt " + b + " token " + t + ": log-probability");
        }
        if (!sampled) {
          int[] expected = workload.hfGreedy()[b];
          int compared = Math.min(expected.length, multi.ids()[b].length);
          assertArrayEquals(
              Arrays.copyOf(expected, compared),
              Arrays.copyOf(multi.ids()[b], compared),
              "prompt " + b + ": HuggingFace's greedy tokens");
        }
      }
    }
  }

  /** Per prompt, the tokens generated (without the decoder start) and their log-probabilities. */
  private record Generated(int[][] ids, float[][] logprobs) {}

  /**
   * Runs the golden prompts through a prefill and decode steps of {@code positions} positions each,
   * all tokens chosen on the backend, until 1 + STEPS × POSITIONS tokens are generated.
   */
  private static Generated generate(
      Workload workload,
      AttentionBackend backend,
      LoadedModel loaded,
      boolean sampled,
      int positions) {
    int tokens = 1 + STEPS * POSITIONS;
    int batch = workload.prompts().length;
    int longest = Arrays.stream(workload.prompts()).mapToInt(p -> p.length).max().orElseThrow();
    int numBlocks = batch * 2 * ((longest + tokens + POSITIONS) / BLOCK_SIZE + 2);
    ModelRunner runner = new ModelRunner(loaded.model(), backend, BLOCK_SIZE, numBlocks, 0);
    BlockSpaceManager blocks =
        Providers.blockManagers()
            .getFirst()
            .create(new BlockManagerConfig(BLOCK_SIZE, numBlocks, 0, 0.0, false));
    Requests requests = new Requests();
    List<SequenceGroup> groups = new ArrayList<>();
    for (int b = 0; b < batch; b++) {
      SequenceGroup group = requests.group(workload.prompts()[b], new int[] {workload.starts()[b]});
      Requests.allocate(blocks, group);
      groups.add(group);
    }
    int[][] ids = new int[batch][tokens];
    float[][] logprobs = new float[batch][tokens];
    int[] chosen = new int[positions * batch];
    float[] chosenLogprobs = new float[positions * batch];
    int generated = 0;
    while (generated < tokens) {
      boolean prefill = generated == 0;
      int stepPositions = prefill ? 1 : positions;
      if (!prefill) {
        for (SequenceGroup group : groups) {
          blocks.appendSlots(group.sequences().getFirst(), stepPositions - 1);
        }
      }
      ScheduledStep step =
          prefill ? ScheduledStep.prefill(groups) : ScheduledStep.decode(groups, List.of());
      int rows =
          runner.executeChoosing(
              step,
              blocks,
              stepPositions,
              sampled ? settings(batch, generated, stepPositions) : null,
              chosen,
              chosenLogprobs);
      assertEquals(batch, rows);
      for (int j = 0; j < stepPositions; j++, generated++) {
        for (int b = 0; b < batch; b++) {
          Sequence seq = groups.get(b).sequences().getFirst();
          seq.appendToken(chosen[j * batch + b], chosenLogprobs[j * batch + b]);
          ids[b][generated] = chosen[j * batch + b];
          logprobs[b][generated] = chosenLogprobs[j * batch + b];
        }
      }
    }
    return new Generated(ids, logprobs);
  }

  /**
   * Sampling settings for the positions of a step whose first token is token {@code first} of each
   * prompt: each (token, prompt) pair draws its own uniform, however the tokens are grouped into
   * steps.
   */
  private static SamplingRows[] settings(int batch, int first, int positions) {
    SamplingRows[] perPosition = new SamplingRows[positions];
    for (int j = 0; j < positions; j++) {
      perPosition[j] = new SamplingRows();
      for (int b = 0; b < batch; b++) {
        double uniform = new SplittableRandom(1000L * b + first + j).nextDouble();
        perPosition[j].add(0.9, 40, 0.9, 0.0, uniform);
      }
    }
    return perPosition;
  }
}
