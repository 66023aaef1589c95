package dev.tandem.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.backend.BackendConfig;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.block.BlockSpaceManagerProvider;
import dev.tandem.core.runner.GreedyGenerator;
import dev.tandem.core.runner.ModelRunner;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The HuggingFace fixtures (T5, BART, Flan-T5, mBART, Marian) through the paged KV cache reproduce
 * HuggingFace: encoder hidden states and teacher-forced logits within 1e-4, greedy sequences
 * identical; on every available backend, through every available block manager, with block sizes 1,
 * 4 and 16 over scattered blocks.
 */
class FixtureParityTest {

  private static final Map<String, Golden> GOLDEN = new ConcurrentHashMap<>();

  record Case(
      String fixture,
      AttentionBackendProvider backend,
      BlockSpaceManagerProvider blockManager,
      int blockSize) {
    @Override
    public String toString() {
      return fixture + " " + backend.name() + " " + blockManager.name() + " block " + blockSize;
    }
  }

  static Stream<Case> cases() {
    List<Case> cases = new ArrayList<>();
    for (String fixture : dev.tandem.core.checkpoint.Fixtures.HUGGING_FACE) {
      for (AttentionBackendProvider backend : Providers.backends()) {
        for (BlockSpaceManagerProvider manager : Providers.blockManagers()) {
          for (int blockSize : new int[] {1, 4, 16}) {
            cases.add(new Case(fixture, backend, manager, blockSize));
          }
        }
      }
    }
    return cases.stream();
  }

  /** The fixture's model on a new backend with its runner and a fragmented block manager. */
  private record Setup(
      AttentionBackend backend, LoadedModel loaded, ModelRunner runner, BlockSpaceManager blocks)
      implements AutoCloseable {

    static Setup of(Case c, Golden golden) {
      AttentionBackend backend = c.backend().create(BackendConfig.defaults());
      LoadedModel loaded = ModelLoader.load(golden.dir(), backend, new ModelLimits(256, 8));
      int numBlocks = Parity.blocksFor(golden.inputs(), golden.steps(), c.blockSize());
      ModelRunner runner = new ModelRunner(loaded.model(), backend, c.blockSize(), numBlocks, 0);
      BlockSpaceManager blocks = Parity.blockManager(c.blockManager(), c.blockSize(), numBlocks);
      return new Setup(backend, loaded, runner, blocks);
    }

    @Override
    public void close() {
      loaded.close();
      backend.close();
    }
  }

  private static Golden golden(Case c) {
    return GOLDEN.computeIfAbsent(c.fixture(), Golden::load);
  }

  @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
  @MethodSource("cases")
  void teacherForcedPrefillMatchesHuggingFace(Case c) {
    Golden golden = golden(c);
    try (Setup s = Setup.of(c, golden)) {
      Parity.PrefillResult result =
          Parity.teacherForcedPrefill(
              s.runner(), s.blocks(), golden.inputs(), golden.greedy(), golden);
      System.out.printf(
          "%s prefill: max |Δ| hidden %.2e, logits %.2e%n", c, result.hidden(), result.logits());
      assertTrue(
          result.hidden() < Parity.TOLERANCE, "encoder hidden differs by " + result.hidden());
      assertTrue(result.logits() < Parity.TOLERANCE, "logits differ by " + result.logits());
    }
  }

  @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
  @MethodSource("cases")
  void teacherForcedDecodeMatchesHuggingFace(Case c) {
    Golden golden = golden(c);
    try (Setup s = Setup.of(c, golden)) {
      double worst =
          Parity.teacherForcedDecode(
              s.runner(), s.blocks(), golden.inputs(), golden.greedy(), golden);
      System.out.printf("%s decode: max |Δ| logits %.2e%n", c, worst);
      assertTrue(worst < Parity.TOLERANCE, "teacher-forced decode logits differ by " + worst);
    }
  }

  @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
  @MethodSource("cases")
  void greedyMatchesHuggingFace(Case c) {
    Golden golden = golden(c);
    try (Setup s = Setup.of(c, golden)) {
      GreedyGenerator generator =
          new GreedyGenerator(s.runner(), s.blocks(), s.loaded().generationConfig());
      int freeBefore = s.blocks().numFreeGpuBlocks();
      List<int[]> outputs =
          generator.generate(
              Arrays.asList(golden.inputs()), golden.maxNewTokens(), golden.minNewTokens());
      for (int b = 0; b < golden.batch(); b++) {
        assertArrayEquals(golden.greedy()[b], outputs.get(b), "prompt " + b);
      }
      assertEquals(freeBefore, s.blocks().numFreeGpuBlocks(), "blocks leaked");
      s.blocks().checkInvariants();
    }
  }
}
