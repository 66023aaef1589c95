package dev.tandem.core.blockmanager;

import static dev.tandem.core.blockmanager.TestGroups.encoderDecoder;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.block.AllocStatus;
import dev.tandem.api.block.BlockMapping;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.api.sequence.SequenceStatus;
import dev.tandem.core.blockmanager.TestGroups.EncoderDecoder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Regression tests for vLLM's encoder/decoder block manager bugs (DESIGN.md, "Known pitfalls"). */
class EncoderDecoderRegressionTest {

  private static final int BLOCK_SIZE = 4;

  /** vLLM's v2 crashed on an empty encoder input: here it gets an empty cross table. */
  @ParameterizedTest
  @MethodSource("dev.tandem.core.blockmanager.BlockManagers#names")
  void emptyEncoderInputHasAnEmptyCrossTableThroughItsWholeLife(String name) {
    BlockSpaceManager manager = BlockManagers.create(name, BLOCK_SIZE, 8, 8, 0);
    EncoderDecoder request = encoderDecoder("empty", 1, BLOCK_SIZE + 1, 0);
    assertEquals(AllocStatus.OK, manager.canAllocate(request.group()));
    manager.allocate(request.group());
    assertEquals(0, manager.getCrossBlockTable(request.group()).length);
    assertEquals(2, manager.getBlockTable(request.decoder()).length);
    assertEquals(6, manager.numFreeGpuBlocks(), "only the decoder prompt's blocks are taken");

    request.decoder().setStatus(SequenceStatus.RUNNING);
    request.decoder().appendToken(7, 0);
    manager.appendSlots(request.decoder(), 0);
    List<BlockMapping> out = manager.swapOut(request.group());
    request.decoder().setStatus(SequenceStatus.SWAPPED);
    assertEquals(2, out.size(), "only decoder blocks move");
    assertEquals(0, manager.getCrossBlockTable(request.group()).length);
    assertEquals(AllocStatus.OK, manager.canSwapIn(request.group(), 0));
    manager.swapIn(request.group());
    request.decoder().setStatus(SequenceStatus.RUNNING);
    assertEquals(0, manager.getCrossBlockTable(request.group()).length);
    manager.checkInvariants();

    manager.free(request.decoder());
    manager.freeCross(request.group());
    assertEquals(8, manager.numFreeGpuBlocks());
    assertEquals(8, manager.numFreeCpuBlocks());
    manager.checkInvariants();
  }

  /**
   * vLLM did not free the cross table on preemption by recompute, so the re-prefill failed with
   * "block table already exists". Here free + freeCross release it and allocate succeeds again.
   */
  @ParameterizedTest
  @MethodSource("dev.tandem.core.blockmanager.BlockManagers#names")
  void recomputePreemptionReleasesTheCrossTableAndReallocates(String name) {
    BlockSpaceManager manager = BlockManagers.create(name, BLOCK_SIZE, 8, 8, 0);
    EncoderDecoder request = encoderDecoder("preempted", 1, 3, 2 * BLOCK_SIZE);
    manager.allocate(request.group());
    request.decoder().setStatus(SequenceStatus.RUNNING);
    for (int t = 0; t < 3; t++) {
      request.decoder().appendToken(t, 0);
      assertTrue(manager.canAppendSlots(request.group(), 0));
      manager.appendSlots(request.decoder(), 0);
    }
    assertEquals(2 + 2, 8 - manager.numFreeGpuBlocks());

    // Preempt by recompute, as the scheduler does: free everything, back to WAITING.
    manager.free(request.decoder());
    manager.freeCross(request.group());
    request.decoder().setStatus(SequenceStatus.WAITING);
    assertEquals(8, manager.numFreeGpuBlocks());
    manager.checkInvariants();

    assertEquals(AllocStatus.OK, manager.canAllocate(request.group()));
    manager.allocate(request.group());
    // The re-prefill covers prompt and generated tokens (6 tokens: 2 blocks) plus 2 cross blocks.
    assertEquals(2, manager.getBlockTable(request.decoder()).length);
    assertEquals(2, manager.getCrossBlockTable(request.group()).length);
    assertEquals(4, manager.numFreeGpuBlocks());
    manager.checkInvariants();
  }

  /**
   * vLLM's beam search used the wrong cross-attention metadata. Here forked beams share the group's
   * one cross table, and copy-on-write of their shared last decoder block returns the pair to copy.
   */
  @ParameterizedTest
  @MethodSource("dev.tandem.core.blockmanager.BlockManagers#names")
  void forkedBeamsShareOneCrossTableAndCopyOnWrite(String name) {
    BlockSpaceManager manager = BlockManagers.create(name, BLOCK_SIZE, 16, 16, 0);
    EncoderDecoder request = encoderDecoder("beams", 1, BLOCK_SIZE + 2, 2 * BLOCK_SIZE);
    SequenceGroup group = request.group();
    Sequence parent = request.decoder();
    manager.allocate(group);
    parent.setStatus(SequenceStatus.RUNNING);
    int[] cross = manager.getCrossBlockTable(group);
    int[] parentTable = manager.getBlockTable(parent);
    int freeBeforeForks = manager.numFreeGpuBlocks();

    List<Sequence> beams = new ArrayList<>(List.of(parent));
    for (long childId = 2; childId <= 4; childId++) {
      Sequence child = parent.fork(childId);
      group.addSequence(child);
      manager.fork(parent, child);
      beams.add(child);
      assertArrayEquals(parentTable, manager.getBlockTable(child));
      assertArrayEquals(cross, manager.getCrossBlockTable(group), "one cross table per group");
    }
    assertEquals(freeBeforeForks, manager.numFreeGpuBlocks(), "forks allocate nothing");
    manager.checkInvariants();

    // Each beam writes its next token into the shared, partly filled last block.
    Set<Integer> copyTargets = new HashSet<>();
    int cows = 0;
    for (int b = 0; b < beams.size(); b++) {
      Sequence beam = beams.get(b);
      int[] before = manager.getBlockTable(beam);
      beam.appendToken(100 + b, 0);
      assertTrue(manager.canAppendSlots(group, 0));
      List<BlockMapping> copies = manager.appendSlots(beam, 0);
      int[] after = manager.getBlockTable(beam);
      assertEquals(before.length, after.length);
      assertEquals(before[0], after[0], "the full first block stays shared");
      for (BlockMapping copy : copies) {
        assertEquals(before[1], copy.src());
        assertEquals(after[1], copy.dst());
        assertNotEquals(copy.src(), copy.dst());
        assertFalse(IntStream.of(cross).anyMatch(c -> c == copy.dst()));
        assertTrue(copyTargets.add(copy.dst()));
        cows++;
      }
      assertEquals(before[1] == after[1] ? 0 : 1, copies.size());
    }
    // Every beam but the last to write copies; the last holds the original block alone.
    assertEquals(beams.size() - 1, cows);
    assertArrayEquals(cross, manager.getCrossBlockTable(group));
    manager.checkInvariants();

    // Swapping the beams moves the shared blocks once and the cross table with them.
    List<BlockMapping> out = manager.swapOut(group);
    TestGroups.setStatus(group, SequenceStatus.SWAPPED);
    int distinct = 1 + beams.size() + cross.length; // shared first block, one last block per beam
    assertEquals(distinct, out.size());
    int[] cpuFirst = manager.getBlockTable(parent);
    for (Sequence beam : beams) {
      assertEquals(cpuFirst[0], manager.getBlockTable(beam)[0], "still shared after the swap");
    }
    assertEquals(cross.length, manager.getCrossBlockTable(group).length);
    manager.checkInvariants();

    for (Sequence beam : beams) {
      manager.free(beam);
    }
    manager.freeCross(group);
    assertEquals(16, manager.numFreeGpuBlocks());
    assertEquals(16, manager.numFreeCpuBlocks());
    manager.checkInvariants();
  }
}
