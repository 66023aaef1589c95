package dev.tandem.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.BackendConfig;
import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.block.BlockSpaceManagerProvider;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.api.sequence.SequenceStatus;
import dev.tandem.core.runner.Logits;
import dev.tandem.core.runner.ModelRunner;
import dev.tandem.core.runner.ScheduledStep;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Inputs at the edges of what the runner accepts: handled, or refused with a clear message. */
class RunnerEdgeCasesTest {

  private static final int BLOCK_SIZE = 4;
  private static final int NUM_BLOCKS = 64;

  private AttentionBackend backend;
  private LoadedModel loaded;
  private ModelRunner runner;

  @BeforeEach
  void load() {
    backend = Providers.backends().getFirst().create(BackendConfig.defaults());
    loaded = ModelLoader.load(Fixtures.fixture("bart-tiny"), backend, new ModelLimits(256, 2));
    runner = new ModelRunner(loaded.model(), backend, BLOCK_SIZE, NUM_BLOCKS, 0);
  }

  @AfterEach
  void close() {
    loaded.close();
    backend.close();
  }

  static Stream<BlockSpaceManagerProvider> blockManagers() {
    return Providers.blockManagers().stream();
  }

  private static BlockSpaceManager blocks(BlockSpaceManagerProvider provider) {
    return provider.create(new BlockManagerConfig(BLOCK_SIZE, NUM_BLOCKS, 0, 0.0, false));
  }

  /** vLLM's v2 manager crashed on an empty encoder input; here it runs, with no cross blocks. */
  @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
  @MethodSource("blockManagers")
  void emptyEncoderInputRuns(BlockSpaceManagerProvider provider) {
    BlockSpaceManager blocks = blocks(provider);
    SequenceGroup group = new Requests().group(new int[0], new int[] {2});
    Requests.allocate(blocks, group);
    Logits logits = runner.execute(ScheduledStep.prefill(List.of(group)), blocks);
    Sequence seq = group.sequences().getFirst();
    seq.appendToken(logits.argmax(0), 0);
    logits =
        runner.execute(ScheduledStep.decode(List.of(group), blocks.appendSlots(seq, 0)), blocks);
    assertEquals(1, logits.rows());
    for (int v = 0; v < logits.vocabSize(); v++) {
      assertTrue(Float.isFinite(logits.get(0, v)), "logit " + v + " = " + logits.get(0, v));
    }
    blocks.free(seq);
    assertEquals(NUM_BLOCKS, blocks.numFreeGpuBlocks());
  }

  @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
  @MethodSource("blockManagers")
  void refusesMoreSequencesThanTheLimit(BlockSpaceManagerProvider provider) {
    BlockSpaceManager blocks = blocks(provider);
    Requests requests = new Requests();
    List<SequenceGroup> groups =
        Stream.generate(() -> requests.group(new int[] {5, 6, 2}, new int[] {2})).limit(3).toList();
    groups.forEach(g -> Requests.allocate(blocks, g));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> runner.execute(ScheduledStep.prefill(groups), blocks));
    assertEquals("step has 3 sequences, more than maxSequences=2", e.getMessage());
  }

  @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
  @MethodSource("blockManagers")
  void refusesAPrefillOfAGroupWithTwoRunningSequences(BlockSpaceManagerProvider provider) {
    BlockSpaceManager blocks = blocks(provider);
    SequenceGroup group = new Requests().group(new int[] {5, 6, 2}, new int[] {2});
    Requests.allocate(blocks, group);
    Sequence child = group.sequences().getFirst().fork(99);
    blocks.fork(group.sequences().getFirst(), child);
    group.addSequence(child);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> runner.execute(ScheduledStep.prefill(List.of(group)), blocks));
    assertTrue(
        e.getMessage().contains("exactly one RUNNING decoder sequence, found 2"), e.getMessage());
  }

  @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
  @MethodSource("blockManagers")
  void refusesSequencesLongerThanThePositionTable(BlockSpaceManagerProvider provider) {
    BlockSpaceManager blocks = blocks(provider);
    SequenceGroup group = new Requests().group(new int[129], new int[] {2});
    group.sequences().getFirst().setStatus(SequenceStatus.RUNNING);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> runner.execute(ScheduledStep.prefill(List.of(group)), blocks));
    assertTrue(
        e.getMessage().contains("129 tokens exceeds the model's 128 positions"), e.getMessage());
  }

  @Test
  void refusesABackendOtherThanTheModels() {
    try (AttentionBackend other =
        Providers.backends().getFirst().create(BackendConfig.defaults())) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> new ModelRunner(loaded.model(), other, BLOCK_SIZE, NUM_BLOCKS, 0));
      assertTrue(e.getMessage().contains("weights live on backend"), e.getMessage());
    }
  }
}
