package dev.tandem.blockmanager.v2;

import static dev.tandem.blockmanager.v2.Requests.manager;
import static dev.tandem.blockmanager.v2.Requests.request;
import static dev.tandem.blockmanager.v2.Requests.setStatus;
import static dev.tandem.blockmanager.v2.Requests.tokens;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.block.AllocStatus;
import dev.tandem.api.block.BlockMapping;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.api.sequence.SequenceStatus;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The v2 manager's behaviour beyond the shared suite: v2 specifics and its own error messages. */
class V2BlockSpaceManagerTest {

  @Test
  void providerIsAvailableAsV2() {
    V2BlockSpaceManagerProvider provider = new V2BlockSpaceManagerProvider();
    assertEquals("v2", provider.name());
    assertEquals(20, provider.priority());
    assertTrue(provider.availability().available());
    BlockSpaceManager manager =
        provider.create(new dev.tandem.api.block.BlockManagerConfig(4, 8, 8, 0.01, false));
    assertEquals(8, manager.numFreeGpuBlocks());
  }

  /** vLLM's test_allocate_encoder_decoder: each request takes 1 decoder + 1 cross block. */
  @ParameterizedTest
  @ValueSource(doubles = {0, 0.25})
  void twoRequestsFitInFourBlocksButOnlyOneAboveAWatermark(double watermark) {
    V2BlockSpaceManager manager = manager(4, 4, 4, watermark, false);
    int fitting = 0;
    for (int r = 0; r < 3; r++) {
      SequenceGroup group = request("r" + r, tokens(4, 0), tokens(4, 50), 1, 10L * r);
      if (manager.canAllocate(group) == AllocStatus.OK) {
        manager.allocate(group);
        fitting++;
      } else {
        assertEquals(AllocStatus.LATER, manager.canAllocate(group));
      }
      manager.checkInvariants();
    }
    assertEquals(watermark == 0 ? 2 : 1, fitting);
  }

  @Test
  void allocateGivesEachSequenceATableSharingThePromptAndOneCrossTable() {
    V2BlockSpaceManager manager = manager(4, 16, 16, 0, false);
    SequenceGroup group = request("r", tokens(9, 0), tokens(6, 50), 3, 1);
    manager.allocate(group);
    int[] first = manager.getBlockTable(group.sequences().get(0));
    for (Sequence seq : group.sequences()) {
      assertArrayEquals(first, manager.getBlockTable(seq));
    }
    assertEquals(3, manager.getCrossBlockTable(group).length);
    assertEquals(16 - 2 - 3, manager.numFreeGpuBlocks());
    manager.checkInvariants();
  }

  @Test
  void emptyEncoderInputGetsAnEmptyCrossTableThroughEveryOperation() {
    V2BlockSpaceManager manager = manager(4, 8, 8, 0, false);
    SequenceGroup group = request("empty", new int[0], tokens(3, 50), 2, 1);
    assertEquals(AllocStatus.OK, manager.canAllocate(group));
    manager.allocate(group);
    assertArrayEquals(new int[0], manager.getCrossBlockTable(group));
    setStatus(group, SequenceStatus.RUNNING);
    assertEquals(1, manager.swapOut(group).size());
    setStatus(group, SequenceStatus.SWAPPED);
    assertEquals(1, manager.swapIn(group).size());
    manager.checkInvariants();
    for (Sequence seq : group.sequences()) {
      manager.free(seq);
    }
    manager.freeCross(group);
    assertEquals(8, manager.numFreeGpuBlocks());
  }

  @Test
  void forksAppendWithCopyOnWriteAndShareTheCrossTable() {
    V2BlockSpaceManager manager = manager(4, 16, 16, 0, false);
    SequenceGroup group = request("beam", tokens(5, 0), tokens(6, 50), 1, 1);
    manager.allocate(group);
    setStatus(group, SequenceStatus.RUNNING);
    Sequence parent = group.sequences().get(0);
    Sequence child = parent.fork(2);
    group.addSequence(child);
    manager.fork(parent, child);
    int[] crossBefore = manager.getCrossBlockTable(group);

    child.appendToken(7, 0);
    List<BlockMapping> copies = manager.appendSlots(child, 0);
    int[] p = manager.getBlockTable(parent);
    int[] c = manager.getBlockTable(child);
    assertEquals(List.of(new BlockMapping(p[1], c[1])), copies);
    assertEquals(p[0], c[0]);
    assertArrayEquals(crossBefore, manager.getCrossBlockTable(group));
    manager.checkInvariants();
  }

  @Test
  void swapMovesDecoderAndCrossBlocksAndFreeCountsMoveByTheMapping() {
    V2BlockSpaceManager manager = manager(4, 16, 16, 0, false);
    SequenceGroup group = request("s", tokens(7, 0), tokens(5, 50), 1, 1);
    manager.allocate(group);
    setStatus(group, SequenceStatus.RUNNING);
    Sequence parent = group.sequences().get(0);
    Sequence child = parent.fork(2);
    group.addSequence(child);
    manager.fork(parent, child);
    int gpuFree = manager.numFreeGpuBlocks();
    int cpuFree = manager.numFreeCpuBlocks();
    Set<Integer> gpuBlocks = new HashSet<>();
    for (int[] table :
        List.of(
            manager.getBlockTable(parent),
            manager.getBlockTable(child),
            manager.getCrossBlockTable(group))) {
      for (int block : table) {
        gpuBlocks.add(block);
      }
    }

    assertTrue(manager.canSwapOut(group));
    List<BlockMapping> out = manager.swapOut(group);
    setStatus(group, SequenceStatus.SWAPPED);
    // Two shared decoder blocks and two cross blocks, each copied once.
    assertEquals(4, out.size());
    assertEquals(gpuBlocks, new HashSet<>(out.stream().map(BlockMapping::src).toList()));
    assertEquals(gpuFree + 4, manager.numFreeGpuBlocks());
    assertEquals(cpuFree - 4, manager.numFreeCpuBlocks());
    assertArrayEquals(manager.getBlockTable(parent), manager.getBlockTable(child));
    manager.checkInvariants();

    assertEquals(AllocStatus.OK, manager.canSwapIn(group, 0));
    List<BlockMapping> in = manager.swapIn(group);
    setStatus(group, SequenceStatus.RUNNING);
    assertEquals(
        new HashSet<>(out.stream().map(BlockMapping::dst).toList()),
        new HashSet<>(in.stream().map(BlockMapping::src).toList()));
    assertEquals(gpuFree, manager.numFreeGpuBlocks());
    assertEquals(cpuFree, manager.numFreeCpuBlocks());
    manager.checkInvariants();
  }

  @Test
  void freeingEverythingRestoresThePoolsAndRecomputeCanAllocateAgain() {
    V2BlockSpaceManager manager = manager(4, 16, 16, 0, false);
    SequenceGroup group = request("again", tokens(8, 0), tokens(9, 50), 2, 1);
    manager.allocate(group);
    for (Sequence seq : group.sequences()) {
      manager.free(seq);
      assertThrows(IllegalArgumentException.class, () -> manager.getBlockTable(seq));
    }
    manager.freeCross(group);
    assertEquals(16, manager.numFreeGpuBlocks());
    manager.allocate(group);
    manager.reset();
    assertEquals(16, manager.numFreeGpuBlocks());
    assertThrows(IllegalArgumentException.class, () -> manager.getCrossBlockTable(group));
    manager.checkInvariants();
  }

  @Test
  void misuseIsRejectedByNameWithoutChangingState() {
    V2BlockSpaceManager manager = manager(4, 8, 8, 0, false);
    SequenceGroup group = request("req-7", tokens(4, 0), tokens(4, 50), 1, 41);
    Sequence seq = group.sequences().get(0);
    assertMessage(IllegalArgumentException.class, "sequence 41", () -> manager.free(seq));
    manager.allocate(group);
    setStatus(group, SequenceStatus.WAITING);
    assertMessage(IllegalStateException.class, "sequence 41", () -> manager.allocate(group));
    assertMessage(IllegalStateException.class, "req-7", () -> manager.swapIn(group));
    setStatus(group, SequenceStatus.SWAPPED);
    assertMessage(IllegalStateException.class, "sequence 41", () -> manager.swapIn(group));
    setStatus(group, SequenceStatus.RUNNING);
    assertMessage(IllegalStateException.class, "sequence 41", () -> manager.fork(seq, seq));
    manager.free(seq);
    assertMessage(IllegalArgumentException.class, "sequence 41", () -> manager.free(seq));
    manager.freeCross(group);
    assertMessage(IllegalArgumentException.class, "req-7", () -> manager.freeCross(group));
    SequenceGroup decoderOnly = request("plain", null, tokens(4, 50), 1, 60);
    assertMessage(
        IllegalArgumentException.class, "plain", () -> manager.getCrossBlockTable(decoderOnly));
    assertEquals(8, manager.numFreeGpuBlocks());
    manager.checkInvariants();
  }

  @Test
  void operationsThatDoNotFitFailBeforeChangingAnything() {
    V2BlockSpaceManager manager = manager(4, 4, 1, 0, false);
    SequenceGroup big = request("big", tokens(8, 0), tokens(12, 50), 1, 1);
    assertEquals(AllocStatus.NEVER, manager.canAllocate(big));
    assertMessage(IllegalStateException.class, "request big", () -> manager.allocate(big));
    SequenceGroup group = request("g", tokens(8, 0), tokens(8, 50), 1, 10);
    manager.allocate(group);
    setStatus(group, SequenceStatus.RUNNING);
    assertFalse(manager.canSwapOut(group));
    assertMessage(IllegalStateException.class, "request g", () -> manager.swapOut(group));
    Sequence seq = group.sequences().get(0);
    seq.appendToken(1, 0);
    assertFalse(manager.canAppendSlots(group, 0));
    assertMessage(IllegalStateException.class, "sequence 10", () -> manager.appendSlots(seq, 0));
    assertEquals(0, manager.numFreeGpuBlocks());
    assertEquals(2, manager.getBlockTable(seq).length);
    manager.checkInvariants();
  }

  private static void assertMessage(
      Class<? extends RuntimeException> type, String fragment, Runnable action) {
    RuntimeException e = assertThrows(type, action::run);
    assertTrue(e.getMessage().contains(fragment), e.getMessage());
  }
}
