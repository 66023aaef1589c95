package dev.tandem.blockmanager.v2.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.block.BlockMapping;
import dev.tandem.api.block.Device;
import dev.tandem.api.sequence.Sequence;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link BlockTable} over both kinds of pools. */
class BlockTableTest {

  private static final int BLOCK_SIZE = 4;

  private static Sequence seq(long id, int length) {
    return new Sequence(id, IntStream.range(0, length).map(i -> 100 + i).toArray());
  }

  private static void appendTokens(Sequence seq, int count) {
    for (int i = 0; i < count; i++) {
      seq.appendToken(500 + seq.length(), 0);
    }
  }

  private static BlockTable table(CpuGpuBlockAllocator pools) {
    return BlockTable.forDecoder(pools, BLOCK_SIZE, ContentHash.DECODER_ONLY_ROOT);
  }

  @ParameterizedTest
  @CsvSource({"0, 0", "1, 1", "4, 1", "5, 2", "8, 2", "9, 3"})
  void allocatesCeilOfLengthOverBlockSize(int length, int expectedBlocks) {
    CpuGpuBlockAllocator pools = CpuGpuBlockAllocator.create(false, 8, 0);
    BlockTable table = table(pools);
    table.allocate(seq(1, length));
    assertEquals(expectedBlocks, table.numBlocks());
    assertEquals(expectedBlocks, BlockTable.numRequiredBlocks(length, BLOCK_SIZE));
    assertEquals(8 - expectedBlocks, pools.numFreeBlocks(Device.GPU));
    table.free();
    assertEquals(8, pools.numFreeBlocks(Device.GPU));
  }

  /** Appending with lookahead keeps exactly ceil((tokens + lookahead) / blockSize) blocks. */
  @ParameterizedTest
  @CsvSource({"3, 1, 0", "3, 2, 0", "4, 1, 3", "5, 9, 4", "1, 12, 7", "8, 3, 10"})
  void appendReservesLookaheadSlots(int promptLength, int appended, int lookahead) {
    CpuGpuBlockAllocator pools = CpuGpuBlockAllocator.create(false, 32, 0);
    Sequence seq = seq(1, promptLength);
    BlockTable table = table(pools);
    table.allocate(seq);
    appendTokens(seq, appended);
    int needed = table.numBlocksNeededToAppend(table.numUnseenTokens(seq), lookahead);
    int before = pools.numFreeBlocks(Device.GPU);
    table.appendTokens(seq, lookahead);
    int expectedBlocks =
        Math.max(
            BlockTable.numRequiredBlocks(promptLength, BLOCK_SIZE),
            BlockTable.numRequiredBlocks(promptLength + appended + lookahead, BLOCK_SIZE));
    assertEquals(expectedBlocks, table.numBlocks());
    assertEquals(before - needed, pools.numFreeBlocks(Device.GPU));
    assertEquals(promptLength + appended, table.numFullSlots());
    assertEquals(List.of(), pools.clearCopyOnWrites());
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void forkSharesBlocksAndCopiesTheLastOnWrite(boolean prefixCaching) {
    CpuGpuBlockAllocator pools = CpuGpuBlockAllocator.create(prefixCaching, 16, 0);
    Sequence parent = seq(1, 6);
    BlockTable parentTable = table(pools);
    parentTable.allocate(parent);
    Sequence child = parent.fork(2);
    BlockTable childTable = parentTable.fork();
    assertArrayEquals(parentTable.physicalBlockIds(), childTable.physicalBlockIds());
    assertEquals(14, pools.numFreeBlocks(Device.GPU));

    child.appendToken(7, 0);
    assertEquals(1, childTable.numBlocksNeededToAppend(1, 0));
    childTable.appendTokens(child, 0);
    List<BlockMapping> copies = pools.clearCopyOnWrites();
    int[] p = parentTable.physicalBlockIds();
    int[] c = childTable.physicalBlockIds();
    assertEquals(p[0], c[0]);
    assertNotEquals(p[1], c[1]);
    assertEquals(List.of(new BlockMapping(p[1], c[1])), copies);

    // The parent's last block is its own now: no copy.
    parent.appendToken(9, 0);
    assertEquals(0, parentTable.numBlocksNeededToAppend(1, 0));
    parentTable.appendTokens(parent, 0);
    assertEquals(List.of(), pools.clearCopyOnWrites());
    assertEquals(13, pools.numFreeBlocks(Device.GPU));
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void identicalPromptsShareFullBlocksOnlyWithPrefixCaching(boolean prefixCaching) {
    CpuGpuBlockAllocator pools = CpuGpuBlockAllocator.create(prefixCaching, 16, 0);
    BlockTable first = table(pools);
    first.allocate(seq(1, 10));
    BlockTable second = table(pools);
    second.allocate(seq(2, 10));
    int[] a = first.physicalBlockIds();
    int[] b = second.physicalBlockIds();
    assertEquals(prefixCaching, a[0] == b[0]);
    assertEquals(prefixCaching, a[1] == b[1]);
    assertNotEquals(a[2], b[2]); // the partial last block is never shared by caching
    assertEquals(16 - (prefixCaching ? 4 : 6), pools.numFreeBlocks(Device.GPU));
  }

  @Test
  void aBlockThatFillsUpToCachedContentIsReplacedByTheCachedBlock() {
    CpuGpuBlockAllocator pools = CpuGpuBlockAllocator.create(true, 16, 0);
    BlockTable full = table(pools);
    full.allocate(seq(1, 8));
    Sequence growing = seq(2, 6);
    BlockTable table = table(pools);
    table.allocate(growing);
    assertEquals(full.physicalBlockIds()[0], table.physicalBlockIds()[0]);
    assertNotEquals(full.physicalBlockIds()[1], table.physicalBlockIds()[1]);
    growing.appendToken(106, 0);
    growing.appendToken(107, 0);
    table.appendTokens(growing, 0);
    assertArrayEquals(full.physicalBlockIds(), table.physicalBlockIds());
    assertEquals(14, pools.numFreeBlocks(Device.GPU));
  }

  @Test
  void computedBlocksAreTheMarkedFullPrefixExceptTheLastBlock() {
    CpuGpuBlockAllocator pools = CpuGpuBlockAllocator.create(true, 16, 0);
    BlockTable first = table(pools);
    first.allocate(seq(1, 14));
    assertArrayEquals(new int[0], first.computedBlockIdsExceptLast());
    first.markComputed(5);
    assertArrayEquals(new int[] {first.physicalBlockIds()[0]}, first.computedBlockIdsExceptLast());
    first.markComputed(9);
    int[] ids = first.physicalBlockIds();
    assertArrayEquals(new int[] {ids[0], ids[1], ids[2]}, first.computedBlockIdsExceptLast());

    // A second prompt, equal in its first 8 tokens, finds those blocks computed in the cache.
    int[] tokens = seq(2, 12).tokenIds();
    tokens[9] = 1;
    BlockTable second = table(pools);
    second.allocate(new Sequence(2, tokens));
    assertArrayEquals(new int[] {ids[0], ids[1]}, second.computedBlockIdsExceptLast());
    // Its third block is its own; computing only that block (4 tokens) marks it.
    assertFalse(pools.isComputed(second.blockId(2)));
    second.markComputed(4);
    assertTrue(pools.isComputed(second.blockId(2)));
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void movingTablesKeepsSharedBlocksSharedAndMapsEachOnce(boolean prefixCaching) {
    CpuGpuBlockAllocator pools = CpuGpuBlockAllocator.create(prefixCaching, 8, 8);
    BlockTable parent = table(pools);
    parent.allocate(seq(1, 6));
    BlockTable child = parent.fork();
    int[] before = parent.physicalBlockIds();
    Map<Integer, Integer> moved = new LinkedHashMap<>();
    parent.moveTo(Device.CPU, moved);
    child.moveTo(Device.CPU, moved);
    assertEquals(Device.CPU, child.device());
    assertArrayEquals(parent.physicalBlockIds(), child.physicalBlockIds());
    List<BlockMapping> mappings = pools.toMappings(moved);
    assertEquals(2, mappings.size());
    for (int b = 0; b < 2; b++) {
      assertEquals(new BlockMapping(before[b], parent.physicalBlockIds()[b]), mappings.get(b));
    }
    assertEquals(8, pools.numFreeBlocks(Device.GPU));
    assertEquals(6, pools.numFreeBlocks(Device.CPU));
    assertThrows(IllegalStateException.class, () -> parent.moveTo(Device.CPU, moved));
  }

  @Test
  void aSequenceShorterThanItsTableIsRejected() {
    CpuGpuBlockAllocator pools = CpuGpuBlockAllocator.create(false, 8, 0);
    BlockTable table = table(pools);
    table.allocate(seq(1, 5));
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> table.appendTokens(seq(1, 3), 0));
    assertEquals("sequence 1 has 3 tokens but its block table holds 5", e.getMessage());
  }
}
