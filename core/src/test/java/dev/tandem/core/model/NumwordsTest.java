package dev.tandem.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.backend.BackendConfig;
import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.block.BlockSpaceManagerProvider;
import dev.tandem.core.checkpoint.GenerationConfig;
import dev.tandem.core.runner.GreedyGenerator;
import dev.tandem.core.runner.ModelRunner;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The bundled numwords-t5 model gives exactly HuggingFace's greedy tokens for all 100 prompts of
 * its eval.json (generated with the checkpoint's generation_config: max_new_tokens 48), as one
 * batch and one prompt at a time.
 */
class NumwordsTest {

  private static final int BLOCK_SIZE = 16;
  private static final int NUM_BLOCKS = 1024;

  static Stream<Arguments> cases() {
    List<Arguments> cases = new ArrayList<>();
    for (AttentionBackendProvider backend : Providers.backends()) {
      for (BlockSpaceManagerProvider manager : Providers.blockManagers()) {
        cases.add(Arguments.of(backend, manager));
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} {1}", allowZeroInvocations = true)
  @MethodSource("cases")
  void oneBatch(AttentionBackendProvider backendProvider, BlockSpaceManagerProvider manager) {
    run(backendProvider, manager, 100, 4096);
  }

  /** One batch whose prompts (about 2,000 tokens) are prefilled over several steps. */
  @ParameterizedTest(name = "{0} {1}", allowZeroInvocations = true)
  @MethodSource("sequentialCases")
  void oneBatchPrefilledInChunks(
      AttentionBackendProvider backendProvider, BlockSpaceManagerProvider manager) {
    run(backendProvider, manager, 100, 300);
  }

  /**
   * The fast backends with one block manager: a hundred sequential runs are the slow part, and
   * paging through each manager is covered by the batch and fixture tests.
   */
  static Stream<Arguments> sequentialCases() {
    return Providers.blockManagers().stream()
        .limit(1)
        .flatMap(m -> Providers.fastBackends().stream().map(b -> Arguments.of(b, m)));
  }

  @ParameterizedTest(name = "{0} {1}", allowZeroInvocations = true)
  @MethodSource("sequentialCases")
  void oneAtATime(AttentionBackendProvider backendProvider, BlockSpaceManagerProvider manager) {
    run(backendProvider, manager, 1, 4096);
  }

  private static void run(
      AttentionBackendProvider backendProvider,
      BlockSpaceManagerProvider manager,
      int batchSize,
      int maxBatchedTokens) {
    JsonNode examples = Fixtures.json(Fixtures.numwords().resolve("eval.json")).get("examples");
    assertEquals(100, examples.size());
    try (AttentionBackend backend = backendProvider.create(BackendConfig.defaults());
        LoadedModel loaded =
            ModelLoader.load(
                Fixtures.numwords(), backend, new ModelLimits(maxBatchedTokens, batchSize))) {
      ModelRunner runner = new ModelRunner(loaded.model(), backend, BLOCK_SIZE, NUM_BLOCKS, 0);
      BlockSpaceManager blocks =
          manager.create(new BlockManagerConfig(BLOCK_SIZE, NUM_BLOCKS, 0, 0.0, false));
      GenerationConfig generation = loaded.generationConfig();
      GreedyGenerator generator = new GreedyGenerator(runner, blocks, generation);
      for (int start = 0; start < examples.size(); start += batchSize) {
        List<int[]> prompts = new ArrayList<>();
        for (int i = start; i < start + batchSize; i++) {
          prompts.add(Fixtures.ints(examples.get(i).get("input_ids")));
        }
        List<int[]> outputs = generator.generate(prompts, generation.maxNewTokens(), 0);
        for (int i = 0; i < batchSize; i++) {
          JsonNode example = examples.get(start + i);
          assertEquals(
              Arrays.toString(expected(Fixtures.ints(example.get("hf_greedy_ids")), generation)),
              Arrays.toString(outputs.get(i)),
              "prompt '" + example.get("prompt").textValue() + "'");
        }
      }
      assertEquals(NUM_BLOCKS, blocks.numFreeGpuBlocks(), "blocks leaked");
    }
  }

  /** HuggingFace's ids up to the first EOS: it pads a batch's finished sequences after that. */
  private static int[] expected(int[] hfIds, GenerationConfig generation) {
    for (int t = 1; t < hfIds.length; t++) {
      if (generation.isEos(hfIds[t])) {
        return Arrays.copyOf(hfIds, t + 1);
      }
    }
    return hfIds;
  }
}
