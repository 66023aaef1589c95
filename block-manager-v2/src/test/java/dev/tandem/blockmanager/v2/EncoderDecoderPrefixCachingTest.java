package dev.tandem.blockmanager.v2;

import static dev.tandem.blockmanager.v2.Requests.manager;
import static dev.tandem.blockmanager.v2.Requests.request;
import static dev.tandem.blockmanager.v2.Requests.setStatus;
import static dev.tandem.blockmanager.v2.Requests.tokens;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.block.BlockMapping;
import dev.tandem.api.block.Device;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.api.sequence.SequenceStatus;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Prefix caching for encoder/decoder requests, which vLLM did not support. */
class EncoderDecoderPrefixCachingTest {

  private static final int BLOCK_SIZE = 4;

  private static Sequence first(SequenceGroup group) {
    return group.sequences().get(0);
  }

  private static Set<Integer> asSet(int[] ids) {
    Set<Integer> set = new HashSet<>();
    Arrays.stream(ids).forEach(set::add);
    return set;
  }

  @Test
  void sameEncoderInputAndPromptShareDecoderBlocksAndTheCrossTable() {
    V2BlockSpaceManager manager = manager(BLOCK_SIZE, 32, 32, 0, true);
    SequenceGroup a = request("a", tokens(6, 0), tokens(9, 50), 1, 1);
    SequenceGroup b = request("b", tokens(6, 0), tokens(9, 50), 1, 2);
    manager.allocate(a);
    manager.allocate(b);
    int[] ta = manager.getBlockTable(first(a));
    int[] tb = manager.getBlockTable(first(b));
    assertEquals(ta[0], tb[0]);
    assertEquals(ta[1], tb[1]);
    assertNotEquals(ta[2], tb[2]); // the partly filled block stays private
    assertArrayEquals(manager.getCrossBlockTable(a), manager.getCrossBlockTable(b));
    // 3 + 1 decoder blocks, 2 cross blocks.
    assertEquals(32 - 6, manager.numFreeGpuBlocks());
    assertTrue(manager.prefixCacheHitRate(Device.GPU) > 0);
    manager.checkInvariants();
  }

  @Test
  void differentEncoderInputsNeverShareDecoderBlocks() {
    V2BlockSpaceManager manager = manager(BLOCK_SIZE, 32, 32, 0, true);
    SequenceGroup a = request("a", tokens(6, 0), tokens(8, 50), 1, 1);
    SequenceGroup b = request("b", tokens(6, 1), tokens(8, 50), 1, 2);
    SequenceGroup plain = request("plain", null, tokens(8, 50), 1, 3);
    SequenceGroup plain2 = request("plain2", null, tokens(8, 50), 1, 4);
    for (SequenceGroup group : List.of(a, b, plain, plain2)) {
      manager.allocate(group);
    }
    Set<Integer> blocksA = asSet(manager.getBlockTable(first(a)));
    Set<Integer> blocksB = asSet(manager.getBlockTable(first(b)));
    Set<Integer> blocksPlain = asSet(manager.getBlockTable(first(plain)));
    assertTrue(blocksA.stream().noneMatch(blocksB::contains));
    assertTrue(blocksA.stream().noneMatch(blocksPlain::contains));
    // Decoder-only requests share as in vLLM.
    assertEquals(blocksPlain, asSet(manager.getBlockTable(first(plain2))));
    assertNotEquals(asSet(manager.getCrossBlockTable(a)), asSet(manager.getCrossBlockTable(b)));
    manager.checkInvariants();
  }

  @Test
  void aSharedCrossTableIsFreedByItsLastUser() {
    V2BlockSpaceManager manager = manager(BLOCK_SIZE, 32, 32, 0, true);
    SequenceGroup a = request("a", tokens(7, 0), tokens(3, 50), 1, 1);
    SequenceGroup b = request("b", tokens(7, 0), tokens(3, 60), 1, 2);
    manager.allocate(a);
    manager.allocate(b);
    int[] cross = manager.getCrossBlockTable(a);
    int free = manager.numFreeGpuBlocks();
    manager.free(first(a));
    manager.freeCross(a);
    assertEquals(free + 1, manager.numFreeGpuBlocks()); // a's decoder block only
    assertArrayEquals(cross, manager.getCrossBlockTable(b));
    manager.checkInvariants();
    manager.freeCross(b);
    assertEquals(free + 1 + cross.length, manager.numFreeGpuBlocks());
    manager.free(first(b));
    assertEquals(32, manager.numFreeGpuBlocks());
    manager.checkInvariants();
  }

  /**
   * Swapping out one user of a shared cross table copies it (the others keep the device table); the
   * last user of a table moves it. Every swap maps every block of the request's tables.
   */
  @Test
  void sharedCrossTablesSwapPerUserWithoutPullingBlocksFromOthers() {
    V2BlockSpaceManager manager = manager(BLOCK_SIZE, 32, 32, 0, true);
    SequenceGroup a = request("a", tokens(8, 0), tokens(3, 50), 1, 1);
    SequenceGroup b = request("b", tokens(8, 0), tokens(3, 60), 1, 2);
    SequenceGroup c = request("c", tokens(8, 0), tokens(3, 70), 1, 3);
    for (SequenceGroup group : List.of(a, b, c)) {
      manager.allocate(group);
      setStatus(group, SequenceStatus.RUNNING);
    }
    int[] deviceCross = manager.getCrossBlockTable(a);
    assertEquals(32 - 3 - 2, manager.numFreeGpuBlocks());

    List<BlockMapping> outA = manager.swapOut(a);
    setStatus(a, SequenceStatus.SWAPPED);
    assertEquals(1 + 2, outA.size()); // the decoder block and a copy of both cross blocks
    assertEquals(asSet(deviceCross), sources(outA, manager.getBlockTable(first(a))));
    assertArrayEquals(deviceCross, manager.getCrossBlockTable(b));
    assertEquals(32 - 2 - 2, manager.numFreeGpuBlocks()); // only a's decoder block left
    manager.checkInvariants();

    List<BlockMapping> outB = manager.swapOut(b);
    setStatus(b, SequenceStatus.SWAPPED);
    assertEquals(1 + 2, outB.size());
    assertEquals(32 - 3 - 3, manager.numFreeCpuBlocks());
    manager.checkInvariants();

    // c finishes: it was the last user of the device table, which is freed.
    manager.free(first(c));
    manager.freeCross(c);
    assertEquals(32, manager.numFreeGpuBlocks());

    // a, the only user of its copy, moves it back; b joins nothing and moves its own copy.
    for (SequenceGroup group : List.of(a, b)) {
      int[] hostCross = manager.getCrossBlockTable(group);
      List<BlockMapping> in = manager.swapIn(group);
      setStatus(group, SequenceStatus.RUNNING);
      assertEquals(1 + 2, in.size());
      assertEquals(asSet(hostCross), sources(in, manager.getBlockTable(first(group))));
      manager.checkInvariants();
    }
    assertEquals(32, manager.numFreeCpuBlocks());
    assertEquals(32 - 2 - 4, manager.numFreeGpuBlocks());

    // A new request with the same input joins a table on the device again.
    SequenceGroup d = request("d", tokens(8, 0), tokens(3, 80), 1, 4);
    manager.allocate(d);
    assertTrue(
        Arrays.equals(manager.getCrossBlockTable(d), manager.getCrossBlockTable(a))
            || Arrays.equals(manager.getCrossBlockTable(d), manager.getCrossBlockTable(b)));
    for (SequenceGroup group : List.of(a, b, d)) {
      manager.free(first(group));
      manager.freeCross(group);
    }
    assertEquals(32, manager.numFreeGpuBlocks());
    manager.checkInvariants();
  }

  /** The mapping's sources that are not the given decoder table's blocks: the cross blocks. */
  private static Set<Integer> sources(List<BlockMapping> mapping, int[] decoderTableAfter) {
    Set<Integer> decoderTargets = asSet(decoderTableAfter);
    Set<Integer> sources = new HashSet<>();
    for (BlockMapping m : mapping) {
      if (!decoderTargets.contains(m.dst())) {
        sources.add(m.src());
      }
    }
    return sources;
  }

  @Test
  void computedBlocksOfAFinishedRequestAreFoundByTheNextWithTheSameInputs() {
    V2BlockSpaceManager manager = manager(BLOCK_SIZE, 32, 32, 0, true);
    SequenceGroup a = request("a", tokens(5, 0), tokens(13, 50), 1, 1);
    manager.allocate(a);
    setStatus(a, SequenceStatus.RUNNING);
    assertArrayEquals(new int[0], manager.getCommonComputedBlockIds(List.of(first(a))));
    manager.markBlocksAsComputed(a, 13);
    int[] table = manager.getBlockTable(first(a));
    manager.accessAllBlocksInSeq(first(a), 1_000);
    manager.free(first(a));
    manager.freeCross(a);
    assertEquals(32, manager.numFreeGpuBlocks()); // cached blocks count as free

    SequenceGroup same = request("same", tokens(5, 0), tokens(13, 50), 2, 10);
    SequenceGroup otherEncoder = request("other", tokens(5, 9), tokens(13, 50), 1, 20);
    manager.allocate(same);
    manager.allocate(otherEncoder);
    assertArrayEquals(Arrays.copyOf(table, 3), manager.getCommonComputedBlockIds(same.sequences()));
    assertArrayEquals(new int[0], manager.getCommonComputedBlockIds(List.of(first(otherEncoder))));
    manager.checkInvariants();
  }
}
