package dev.tandem.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.backend.BackendConfig;
import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockMapping;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.block.BlockSpaceManagerProvider;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.api.sequence.SequenceStatus;
import dev.tandem.core.runner.Logits;
import dev.tandem.core.runner.ModelRunner;
import dev.tandem.core.runner.ScheduledStep;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The runner applies the block manager's swaps and copy-on-write copies so that decoding goes on as
 * if nothing happened: t5-tiny's teacher-forced logits stay within 1e-4 of HuggingFace's through a
 * swap-out (with the freed device blocks overwritten) and swap-in, and after forking every sequence
 * in the middle of a block (two sequences per group reading one cross table).
 */
class PagedCacheOperationsTest {

  private static final int BLOCK_SIZE = 4;
  private static final int SWAP_AT = 5;
  private static final int FORK_AT = 2;

  static Stream<Arguments> cases() {
    List<Arguments> cases = new ArrayList<>();
    for (AttentionBackendProvider backend : Providers.backends()) {
      for (BlockSpaceManagerProvider manager : Providers.blockManagers()) {
        cases.add(Arguments.of(backend, manager));
      }
    }
    return cases.stream();
  }

  /** Golden t5-tiny on a backend, with a cache that can also hold the whole batch swapped out. */
  private record Setup(
      Golden golden,
      AttentionBackend backend,
      LoadedModel loaded,
      ModelRunner runner,
      BlockSpaceManager blocks,
      List<SequenceGroup> groups)
      implements AutoCloseable {

    static Setup of(AttentionBackendProvider backendProvider, BlockSpaceManagerProvider manager) {
      Golden golden = Golden.load("t5-tiny");
      AttentionBackend backend = backendProvider.create(BackendConfig.defaults());
      LoadedModel loaded = ModelLoader.load(golden.dir(), backend, new ModelLimits(256, 8));
      int numBlocks = 2 * Parity.blocksFor(golden.inputs(), golden.steps(), BLOCK_SIZE);
      ModelRunner runner =
          new ModelRunner(loaded.model(), backend, BLOCK_SIZE, numBlocks, numBlocks);
      BlockSpaceManager blocks =
          manager.create(new BlockManagerConfig(BLOCK_SIZE, numBlocks, numBlocks, 0.0, false));
      Requests requests = new Requests();
      List<SequenceGroup> groups = new ArrayList<>();
      for (int b = 0; b < golden.batch(); b++) {
        SequenceGroup group = requests.group(golden.inputs()[b], new int[] {golden.greedy()[b][0]});
        Requests.allocate(blocks, group);
        groups.add(group);
      }
      return new Setup(golden, backend, loaded, runner, blocks, groups);
    }

    /** Appends each group's next golden token to its running sequences; the needed copies. */
    List<BlockMapping> appendGolden(int t) {
      List<BlockMapping> copies = new ArrayList<>();
      for (int b = 0; b < groups.size(); b++) {
        for (Sequence seq : groups.get(b).sequences(SequenceStatus.RUNNING)) {
          seq.appendToken(golden.greedy()[b][t], 0);
          copies.addAll(blocks.appendSlots(seq, 0));
        }
      }
      return copies;
    }

    /** Largest difference of every running sequence's row from golden position t. */
    double difference(Logits logits, int t) {
      double worst = 0;
      int row = 0;
      for (int b = 0; b < groups.size(); b++) {
        for (int i = 0; i < groups.get(b).sequences(SequenceStatus.RUNNING).size(); i++) {
          worst = Math.max(worst, Parity.rowDifference(logits, row++, golden, b, t));
        }
      }
      assertEquals(row, logits.rows());
      return worst;
    }

    @Override
    public void close() {
      loaded.close();
      backend.close();
    }
  }

  @ParameterizedTest(name = "{0} {1}", allowZeroInvocations = true)
  @MethodSource("cases")
  void swapOutAndInKeepsTheCache(
      AttentionBackendProvider backend, BlockSpaceManagerProvider manager) {
    try (Setup s = Setup.of(backend, manager)) {
      double worst =
          s.difference(s.runner().execute(ScheduledStep.prefill(s.groups()), s.blocks()), 0);
      for (int t = 1; t < s.golden().steps(); t++) {
        List<BlockMapping> copies = s.appendGolden(t);
        List<BlockMapping> swapIn = List.of();
        if (t == SWAP_AT) {
          swapIn = swapOutOverwriteAndSwapIn(s, List.of(s.groups().get(0), s.groups().get(2)));
        }
        ScheduledStep step = new ScheduledStep(false, s.groups(), swapIn, List.of(), copies);
        worst = Math.max(worst, s.difference(s.runner().execute(step, s.blocks()), t));
      }
      System.out.printf("swap %s %s: max |Δ| logits %.2e%n", backend.name(), manager.name(), worst);
      assertTrue(worst < Parity.TOLERANCE, "logits after swapping differ by " + worst);
    }
  }

  /**
   * Swaps the groups out (a step that only copies), lets another request's prefill write over the
   * device blocks they left, and swaps them back in; returns the swap-in mapping for the next step.
   */
  private static List<BlockMapping> swapOutOverwriteAndSwapIn(
      Setup s, List<SequenceGroup> swapped) {
    List<BlockMapping> out = new ArrayList<>();
    for (SequenceGroup group : swapped) {
      out.addAll(s.blocks().swapOut(group));
      group.sequences().forEach(seq -> seq.setStatus(SequenceStatus.SWAPPED));
    }
    assertFalse(out.isEmpty());
    s.runner().execute(new ScheduledStep(false, List.of(), List.of(), out, List.of()), s.blocks());

    SequenceGroup intruder = new Requests(1L << 40).group(new int[60], new int[24]);
    Requests.allocate(s.blocks(), intruder);
    s.runner().execute(ScheduledStep.prefill(List.of(intruder)), s.blocks());
    s.blocks().free(intruder.sequences().getFirst());
    s.blocks().freeCross(intruder);

    List<BlockMapping> in = new ArrayList<>();
    for (SequenceGroup group : swapped) {
      in.addAll(s.blocks().swapIn(group));
      group.sequences().forEach(seq -> seq.setStatus(SequenceStatus.RUNNING));
    }
    return in;
  }

  @ParameterizedTest(name = "{0} {1}", allowZeroInvocations = true)
  @MethodSource("cases")
  void forkedSequencesCopyOnWriteAndShareTheCrossTable(
      AttentionBackendProvider backend, BlockSpaceManagerProvider manager) {
    try (Setup s = Setup.of(backend, manager)) {
      double worst =
          s.difference(s.runner().execute(ScheduledStep.prefill(s.groups()), s.blocks()), 0);
      long childId = 1L << 41;
      for (int t = 1; t < s.golden().steps(); t++) {
        if (t == FORK_AT) {
          // mid-block: the children share the parents' partly filled last block until they write
          for (SequenceGroup group : s.groups()) {
            Sequence parent = group.sequences().getFirst();
            Sequence child = parent.fork(childId++);
            s.blocks().fork(parent, child);
            group.addSequence(child);
          }
        }
        List<BlockMapping> copies = s.appendGolden(t);
        if (t == FORK_AT) {
          assertFalse(copies.isEmpty(), "appending to a shared block should copy it");
        }
        Logits logits = s.runner().execute(ScheduledStep.decode(s.groups(), copies), s.blocks());
        worst = Math.max(worst, s.difference(logits, t));
      }
      System.out.printf("fork %s %s: max |Δ| logits %.2e%n", backend.name(), manager.name(), worst);
      assertTrue(worst < Parity.TOLERANCE, "logits of forked sequences differ by " + worst);
      s.blocks().checkInvariants();
    }
  }
}
