package dev.tandem.core.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.api.sequence.SequenceStatus;
import dev.tandem.core.config.PreemptionMode;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The scheduling policy, step by step, with the real block managers. */
class SchedulerTest {

  private static final int BLOCK = 4;

  private BlockSpaceManager blocks;
  private long nextId;

  private Scheduler scheduler(String manager, int gpuBlocks, PreemptionMode mode, int maxSeqs) {
    return scheduler(manager, gpuBlocks, mode, maxSeqs, 0);
  }

  private Scheduler scheduler(
      String manager, int gpuBlocks, PreemptionMode mode, int maxSeqs, int lookahead) {
    BlockManagerConfig cache = new BlockManagerConfig(BLOCK, gpuBlocks, 32, 0.0, false);
    blocks = ToyModel.blockManager(manager).create(cache);
    return new Scheduler(blocks, cache, maxSeqs, 512, mode, lookahead);
  }

  /**
   * Multi-step scheduling: a decoding sequence gets room for its next token plus the lookahead when
   * that fits, and the step says so; when it does not fit, the sequence still decodes one token,
   * nobody is preempted for the lookahead, and the step says it has none.
   */
  @ParameterizedTest
  @MethodSource("dev.tandem.core.engine.ToyModel#blockManagers")
  void lookaheadSlotsWhenTheyFitAndNoneRatherThanPreempting(String manager) {
    Scheduler roomy = scheduler(manager, 12, PreemptionMode.RECOMPUTE, 8, 7);
    SequenceGroup g = group("g", 4, 0);
    roomy.add(g);
    SchedulerOutput prefill = roomy.schedule();
    assertEquals(0, prefill.numLookaheadSlots());
    sample(prefill);
    SchedulerOutput decode = roomy.schedule();
    assertEquals(7, decode.numLookaheadSlots());
    Sequence seq = g.sequences().getFirst();
    // length 2 (start token + one), plus 7 lookahead: 9 slots in blocks of 4
    assertEquals(3, blocks.getBlockTable(seq).length);

    Scheduler tight = scheduler(manager, 3, PreemptionMode.RECOMPUTE, 8, 7);
    SequenceGroup h = group("h", 4, 0); // one cross block, one decoder block: one block free
    tight.add(h);
    sample(tight.schedule());
    SchedulerOutput squeezed = tight.schedule();
    assertEquals(List.of(h), squeezed.groups());
    assertEquals(0, squeezed.numLookaheadSlots());
    assertEquals(0, tight.stats().preemptions());
    assertEquals(1, blocks.getBlockTable(h.sequences().getFirst()).length);
  }

  private SequenceGroup group(String id, int encoderLength, long arrival) {
    Sequence encoder = new Sequence(nextId++, new int[encoderLength]);
    Sequence decoder = new Sequence(nextId++, new int[] {0});
    return new SequenceGroup(id, encoder, List.of(decoder), arrival, SamplingParams.greedy());
  }

  /** What the engine does after a step: one new token for every running sequence. */
  private static void sample(SchedulerOutput step) {
    for (SequenceGroup group : step.groups()) {
      for (Sequence seq : group.sequences(SequenceStatus.RUNNING)) {
        seq.appendToken(5, 0);
      }
    }
  }

  private void finish(Scheduler scheduler, SequenceGroup group) {
    for (Sequence seq : group.sequences(SequenceStatus.RUNNING)) {
      seq.setStatus(SequenceStatus.FINISHED_STOPPED);
      scheduler.freeSequence(seq);
    }
    scheduler.removeFinished();
  }

  /** Three groups of 2 blocks each decode until the 12-block cache runs out. */
  private List<SequenceGroup> runUntilPreemption(Scheduler scheduler) {
    List<SequenceGroup> groups = List.of(group("g0", 4, 0), group("g1", 4, 1), group("g2", 4, 2));
    groups.forEach(scheduler::add);
    SchedulerOutput prefill = scheduler.schedule();
    assertTrue(prefill.prefill());
    assertEquals(groups, prefill.groups());
    sample(prefill);
    while (scheduler.stats().preemptions() == 0) {
      SchedulerOutput step = scheduler.schedule();
      assertTrue(!step.prefill());
      sample(step);
    }
    return groups;
  }

  @ParameterizedTest
  @MethodSource("dev.tandem.core.engine.ToyModel#blockManagers")
  void recomputePreemptsTheLatestArrivalAndFreesItsCrossTable(String manager) {
    Scheduler scheduler = scheduler(manager, 12, PreemptionMode.RECOMPUTE, 8);
    List<SequenceGroup> groups = runUntilPreemption(scheduler);
    SequenceGroup victim = groups.get(2);
    Sequence seq = victim.sequences().getFirst();
    assertEquals(SequenceStatus.WAITING, seq.status());
    assertEquals(1, scheduler.stats().recomputations());
    assertEquals(1, scheduler.numWaiting());
    assertEquals(2, scheduler.numRunning());
    blocks.checkInvariants();

    // Once g0 finishes, the victim is prefilled again with its whole sequence (and its encoder).
    finish(scheduler, groups.get(0));
    SchedulerOutput again = scheduler.schedule();
    assertTrue(again.prefill());
    assertEquals(List.of(victim), again.groups());
    assertEquals(4 + seq.length(), again.numBatchedTokens());
    assertEquals(SequenceStatus.RUNNING, seq.status());
    assertEquals((seq.length() + BLOCK - 1) / BLOCK, blocks.getBlockTable(seq).length);
    assertEquals(1, blocks.getCrossBlockTable(victim).length);
    blocks.checkInvariants();
  }

  @ParameterizedTest
  @MethodSource("dev.tandem.core.engine.ToyModel#blockManagers")
  void swapMovesTheCrossTableTooAndSwappedGroupsComeBackFirst(String manager) {
    Scheduler scheduler = scheduler(manager, 12, PreemptionMode.SWAP, 8);
    int freeCpu = blocks.numFreeCpuBlocks();
    List<SequenceGroup> groups = runUntilPreemption(scheduler);
    SequenceGroup victim = groups.get(2);
    Sequence seq = victim.sequences().getFirst();
    assertEquals(SequenceStatus.SWAPPED, seq.status());
    int selfBlocks = (seq.length() - 1 + BLOCK - 1) / BLOCK; // its newest token has no slot yet
    assertEquals(freeCpu - selfBlocks - 1, blocks.numFreeCpuBlocks());
    assertEquals(1, scheduler.numSwapped());

    SequenceGroup late = group("late", 4, 3);
    scheduler.add(late);
    finish(scheduler, groups.get(0));
    SchedulerOutput step = scheduler.schedule();
    assertTrue(!step.prefill(), "a waiting group was admitted before the swapped one");
    assertEquals(List.of(groups.get(1), victim), step.groups());
    assertEquals(selfBlocks + 1, step.swapIn().size());
    assertEquals(SequenceStatus.RUNNING, seq.status());
    assertEquals(freeCpu, blocks.numFreeCpuBlocks());
    assertEquals(1, scheduler.numWaiting());
    blocks.checkInvariants();
  }

  @ParameterizedTest
  @MethodSource("dev.tandem.core.engine.ToyModel#blockManagers")
  void neverFailsOneGroupLaterWaitsAndBudgetsLimitAdmission(String manager) {
    Scheduler scheduler = scheduler(manager, 6, PreemptionMode.RECOMPUTE, 2);
    SequenceGroup huge = group("huge", 40, 0); // 10 cross blocks + 1: never in 6
    SequenceGroup a = group("a", 8, 1); // 3 blocks
    SequenceGroup b = group("b", 4, 2); // 2 blocks
    SequenceGroup c = group("c", 4, 3); // 2 blocks: over max-num-seqs 2 this step
    for (SequenceGroup g : List.of(huge, a, b, c)) {
      scheduler.add(g);
    }
    SchedulerOutput first = scheduler.schedule();
    assertEquals(1, first.failed().size());
    assertEquals(huge, first.failed().getFirst().group());
    String reason = first.failed().getFirst().reason();
    assertTrue(reason.contains("needs 11 blocks") && reason.contains("the cache has 6"), reason);
    assertEquals(SequenceStatus.FINISHED_IGNORED, huge.sequences().getFirst().status());
    assertEquals(List.of(a, b), first.groups());
    sample(first);
    // c fits neither the sequence budget nor (1 block left) the cache: it waits (LATER)
    SchedulerOutput second = scheduler.schedule();
    assertTrue(!second.prefill());
    assertEquals(1, scheduler.numWaiting());
    assertEquals(1, scheduler.stats().failed());
  }

  @ParameterizedTest
  @MethodSource("dev.tandem.core.engine.ToyModel#blockManagers")
  void abortFreesBlocksInEveryQueue(String manager) {
    Scheduler scheduler = scheduler(manager, 12, PreemptionMode.SWAP, 8);
    int freeGpu = blocks.numFreeGpuBlocks();
    int freeCpu = blocks.numFreeCpuBlocks();
    runUntilPreemption(scheduler); // g0, g1 running; g2 swapped
    scheduler.add(group("w", 4, 9)); // waiting
    for (String id : List.of("g0", "g1", "g2", "w")) {
      SequenceGroup aborted = scheduler.abort(id);
      assertEquals(SequenceStatus.FINISHED_ABORTED, aborted.sequences().getFirst().status());
    }
    assertTrue(!scheduler.hasUnfinished());
    assertEquals(freeGpu, blocks.numFreeGpuBlocks());
    assertEquals(freeCpu, blocks.numFreeCpuBlocks());
    blocks.checkInvariants();
  }
}
