package dev.tandem.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.backend.BackendConfig;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.block.BlockSpaceManagerProvider;
import dev.tandem.core.checkpoint.Checkpoint;
import dev.tandem.core.checkpoint.GenerationConfig;
import dev.tandem.core.runner.GreedyGenerator;
import dev.tandem.core.runner.ModelRunner;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Flan-T5 (gated-gelu and gated-silu, untied head, 3 decoder over 2 encoder layers), mBART and
 * Marian (shared embeddings, or separate vocabularies) tiny random checkpoints load and run through
 * the paged cache, matching the independent unpaged reference forward: encoder output and
 * teacher-forced logits (prefill and step by step) within 1e-4, and greedy tokens identical.
 */
class TinyFamiliesTest {

  private static final int[] PROMPT_LENGTHS = {5, 23, 31}; // past the T5 tiny max_distance 20
  private static final int DECODER_LENGTH = 7;
  private static final int NEW_TOKENS = 8;

  record Family(String name, Supplier<TinyCheckpoints> checkpoint) {
    @Override
    public String toString() {
      return name;
    }
  }

  record Case(
      Family family,
      AttentionBackendProvider backend,
      BlockSpaceManagerProvider blockManager,
      int blockSize) {
    @Override
    public String toString() {
      return family + " " + backend.name() + " " + blockManager.name() + " block " + blockSize;
    }
  }

  static Stream<Case> cases() {
    List<Family> families =
        List.of(
            new Family("flan-t5 gated-gelu", () -> TinyCheckpoints.flanT5("gated-gelu")),
            // as transformers 5 saves v1.1 configs: tying forced on, scaling recorded separately
            new Family(
                "t5 v1.1 gated-silu",
                () ->
                    TinyCheckpoints.flanT5("gated-silu")
                        .with("tie_word_embeddings", true)
                        .with("scale_decoder_outputs", false)),
            new Family("mbart", TinyCheckpoints::mbart),
            new Family("marian", TinyCheckpoints::marian),
            new Family(
                "marian unshared",
                () ->
                    TinyCheckpoints.marian()
                        .with("share_encoder_decoder_embeddings", false)
                        .with("decoder_vocab_size", TinyCheckpoints.VOCAB + 10)));
    List<Case> cases = new ArrayList<>();
    for (Family family : families) {
      for (AttentionBackendProvider backend : Providers.backends()) {
        for (BlockSpaceManagerProvider manager : Providers.blockManagers()) {
          for (int blockSize : new int[] {1, 4}) {
            cases.add(new Case(family, backend, manager, blockSize));
          }
        }
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
  @MethodSource("cases")
  void matchesReference(Case c, @TempDir Path dir) {
    c.family().checkpoint().get().write(dir);
    Random random = new Random(c.family().name().hashCode());
    int[][] inputs = new int[PROMPT_LENGTHS.length][];
    int[][] decoderInputs = new int[PROMPT_LENGTHS.length][];
    try (Checkpoint checkpoint = Checkpoint.open(dir);
        AttentionBackend backend = c.backend().create(BackendConfig.defaults());
        EncoderDecoderModel model =
            ModelLoader.loadModel(checkpoint, backend, new ModelLimits(128, 4))) {
      GenerationConfig generation = checkpoint.generationConfig();
      for (int b = 0; b < inputs.length; b++) {
        inputs[b] = random.ints(PROMPT_LENGTHS[b], 0, TinyCheckpoints.VOCAB).toArray();
        decoderInputs[b] = random.ints(DECODER_LENGTH, 0, TinyCheckpoints.VOCAB).toArray();
        decoderInputs[b][0] = generation.decoderStartTokenId();
      }
      ReferenceModel reference = new ReferenceModel(checkpoint);
      Expected expected = Expected.fromReference(reference, inputs, decoderInputs);
      int numBlocks = Parity.blocksFor(inputs, DECODER_LENGTH + NEW_TOKENS, c.blockSize());
      ModelRunner runner = new ModelRunner(model, backend, c.blockSize(), numBlocks, 0);
      BlockSpaceManager blocks = Parity.blockManager(c.blockManager(), c.blockSize(), numBlocks);

      Parity.PrefillResult prefill =
          Parity.teacherForcedPrefill(runner, blocks, inputs, decoderInputs, expected);
      double decode = Parity.teacherForcedDecode(runner, blocks, inputs, decoderInputs, expected);
      System.out.printf(
          "%s: max |Δ| hidden %.2e, prefill logits %.2e, decode logits %.2e%n",
          c, prefill.hidden(), prefill.logits(), decode);
      assertTrue(prefill.hidden() < Parity.TOLERANCE, "encoder output differs by " + prefill);
      assertTrue(prefill.logits() < Parity.TOLERANCE, "prefill logits differ: " + prefill);
      assertTrue(decode < Parity.TOLERANCE, "decode logits differ by " + decode);

      List<int[]> greedy =
          new GreedyGenerator(runner, blocks, generation)
              .generate(Arrays.asList(inputs), NEW_TOKENS, NEW_TOKENS);
      for (int b = 0; b < inputs.length; b++) {
        assertArrayEquals(
            referenceGreedy(reference, inputs[b], generation), greedy.get(b), "prompt " + b);
      }
    }
  }

  /** Greedy decoding with the reference: NEW_TOKENS tokens, EOS suppressed throughout. */
  private static int[] referenceGreedy(
      ReferenceModel reference, int[] input, GenerationConfig generation) {
    float[][] encoded = reference.encode(input);
    int[] tokens = {generation.decoderStartTokenId()};
    while (tokens.length <= NEW_TOKENS) {
      float[] last = reference.decode(tokens, encoded)[tokens.length - 1];
      int best = -1;
      for (int v = 0; v < last.length; v++) {
        if (!generation.isEos(v) && (best < 0 || last[v] > last[best])) {
          best = v;
        }
      }
      if (tokens.length == NEW_TOKENS && generation.forcedEosTokenId() != null) {
        best = generation.forcedEosTokenId();
      }
      tokens = Arrays.copyOf(tokens, tokens.length + 1);
      tokens[tokens.length - 1] = best;
    }
    return tokens;
  }
}
