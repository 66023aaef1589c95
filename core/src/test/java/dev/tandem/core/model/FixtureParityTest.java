package dev.tandem.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.backend.BackendConfig;
import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.block.BlockSpaceManagerProvider;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.core.checkpoint.GenerationConfig;
import dev.tandem.core.runner.GreedyGenerator;
import dev.tandem.core.runner.Logits;
import dev.tandem.core.runner.ModelRunner;
import dev.tandem.core.runner.ScheduledStep;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * t5-tiny and bart-tiny through the paged KV cache reproduce HuggingFace: encoder hidden states and
 * teacher-forced logits within 1e-4, greedy sequences identical; on every available backend,
 * through every available block manager, with block sizes 1, 4 and 16 over scattered blocks.
 */
class FixtureParityTest {

  private static final double TOLERANCE = 1e-4;
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
    for (String fixture : List.of("t5-tiny", "bart-tiny")) {
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

  /** One model on one backend with its runner and a fresh block manager. */
  private record Setup(
      AttentionBackend backend,
      LoadedModel loaded,
      ModelRunner runner,
      BlockSpaceManager blocks,
      Golden golden)
      implements AutoCloseable {

    static Setup of(Case c) {
      Golden golden = GOLDEN.computeIfAbsent(c.fixture(), Golden::load);
      AttentionBackend backend = c.backend().create(BackendConfig.defaults());
      LoadedModel loaded = ModelLoader.load(golden.dir(), backend, new ModelLimits(256, 8));
      int blocksNeeded = 0;
      for (int[] input : golden.inputs()) {
        blocksNeeded +=
            ceilDiv(input.length, c.blockSize()) + ceilDiv(golden.steps() + 1, c.blockSize());
      }
      int fillers = 8;
      int numBlocks = 2 * blocksNeeded + fillers * 3;
      ModelRunner runner = new ModelRunner(loaded.model(), backend, c.blockSize(), numBlocks, 0);
      BlockSpaceManager blocks =
          c.blockManager().create(new BlockManagerConfig(c.blockSize(), numBlocks, 0, 0.0, false));
      Requests.fragment(blocks, fillers, c.blockSize());
      return new Setup(backend, loaded, runner, blocks, golden);
    }

    @Override
    public void close() {
      loaded.close();
      backend.close();
    }
  }

  @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
  @MethodSource("cases")
  void teacherForcedPrefillMatchesHuggingFace(Case c) {
    try (Setup s = Setup.of(c)) {
      Golden golden = s.golden();
      Requests requests = new Requests();
      List<SequenceGroup> groups = new ArrayList<>();
      for (int b = 0; b < golden.batch(); b++) {
        SequenceGroup group = requests.group(golden.inputs()[b], golden.greedy()[b]);
        Requests.allocate(s.blocks(), group);
        groups.add(group);
      }
      Logits logits = s.runner().executeAllPositions(ScheduledStep.prefill(groups), s.blocks());

      int d = golden.dModel();
      float[] hidden = new float[Arrays.stream(golden.inputs()).mapToInt(a -> a.length).sum() * d];
      s.backend().read(s.loaded().model().encoderOutput(), 0, hidden, 0, hidden.length);
      double worstHidden = 0;
      double worstLogit = 0;
      int encoderRow = 0;
      int decoderRow = 0;
      for (int b = 0; b < golden.batch(); b++) {
        for (int t = 0; t < golden.inputs()[b].length; t++, encoderRow++) {
          for (int j = 0; j < d; j++) {
            worstHidden =
                Math.max(
                    worstHidden, Math.abs(hidden[encoderRow * d + j] - golden.hidden(b, t, j)));
          }
        }
        for (int t = 0; t < golden.greedy()[b].length; t++, decoderRow++) {
          worstLogit = Math.max(worstLogit, rowDifference(logits, decoderRow, golden, b, t));
        }
      }
      assertEquals(decoderRow, logits.rows());
      System.out.printf(
          "%s prefill: max |Δ| hidden %.2e, logits %.2e%n", c, worstHidden, worstLogit);
      assertTrue(worstHidden < TOLERANCE, "encoder hidden states differ by " + worstHidden);
      assertTrue(worstLogit < TOLERANCE, "teacher-forced logits differ by " + worstLogit);
    }
  }

  @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
  @MethodSource("cases")
  void teacherForcedDecodeMatchesHuggingFace(Case c) {
    try (Setup s = Setup.of(c)) {
      Golden golden = s.golden();
      Requests requests = new Requests();
      List<SequenceGroup> groups = new ArrayList<>();
      for (int b = 0; b < golden.batch(); b++) {
        SequenceGroup group = requests.group(golden.inputs()[b], new int[] {golden.greedy()[b][0]});
        Requests.allocate(s.blocks(), group);
        groups.add(group);
      }
      double worst = 0;
      Logits logits = s.runner().execute(ScheduledStep.prefill(groups), s.blocks());
      for (int t = 0; ; t++) {
        for (int b = 0; b < golden.batch(); b++) {
          worst = Math.max(worst, rowDifference(logits, b, golden, b, t));
        }
        if (t + 1 == golden.steps()) {
          break;
        }
        List<dev.tandem.api.block.BlockMapping> copies = new ArrayList<>();
        for (int b = 0; b < golden.batch(); b++) {
          Sequence seq = groups.get(b).sequences().getFirst();
          seq.appendToken(golden.greedy()[b][t + 1], 0);
          copies.addAll(s.blocks().appendSlots(seq, 0));
        }
        logits = s.runner().execute(ScheduledStep.decode(groups, copies), s.blocks());
      }
      System.out.printf("%s decode: max |Δ| logits %.2e%n", c, worst);
      assertTrue(worst < TOLERANCE, "teacher-forced decode logits differ by " + worst);
    }
  }

  @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
  @MethodSource("cases")
  void greedyMatchesHuggingFace(Case c) {
    try (Setup s = Setup.of(c)) {
      Golden golden = s.golden();
      GenerationConfig generation = s.loaded().generationConfig();
      GreedyGenerator generator = new GreedyGenerator(s.runner(), s.blocks(), generation);
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

  private static double rowDifference(Logits logits, int row, Golden golden, int b, int t) {
    double worst = 0;
    for (int v = 0; v < golden.vocab(); v++) {
      worst = Math.max(worst, Math.abs(logits.get(row, v) - golden.logit(b, t, v)));
    }
    return worst;
  }

  private static int ceilDiv(int a, int b) {
    return (a + b - 1) / b;
  }
}
