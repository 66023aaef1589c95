package dev.tandem.blockmanager.v1;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.Device;
import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.api.sequence.SequenceStatus;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** v1's prefix caching for decoder-only requests, and its refusal for encoder/decoder ones. */
class V1PrefixCachingTest {

  private static final int BLOCK_SIZE = 4;

  private final V1BlockSpaceManager manager =
      new V1BlockSpaceManager(new BlockManagerConfig(BLOCK_SIZE, 8, 8, 0, true));

  private static SequenceGroup request(String id, long seqId, int[] prompt) {
    return new SequenceGroup(
        id, null, List.of(new Sequence(seqId, prompt)), 0, SamplingParams.greedy());
  }

  private static Sequence only(SequenceGroup group) {
    return group.sequences().getFirst();
  }

  @Test
  void identicalPromptsShareTheirBlocks() {
    int[] prompt = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    SequenceGroup a = request("a", 1, prompt);
    SequenceGroup b = request("b", 2, prompt);
    manager.allocate(a);
    manager.allocate(b);
    int[] tableA = manager.getBlockTable(only(a));
    int[] tableB = manager.getBlockTable(only(b));
    assertArrayEquals(Arrays.copyOf(tableA, 2), Arrays.copyOf(tableB, 2), "complete blocks");
    assertEquals(8 - 2 - 2, manager.numFreeGpuBlocks(), "2 shared + 2 partial blocks");
    assertEquals(0.5, manager.prefixCacheHitRate(Device.GPU), "b found both complete blocks");
    manager.checkInvariants();
  }

  @Test
  void partialBlocksAreNeverSharedByContent() {
    // A partial block is still written to: two requests sharing it would overwrite each other.
    int[] prompt = {1, 2, 3, 4, 5, 6};
    SequenceGroup a = request("a", 1, prompt);
    SequenceGroup b = request("b", 2, prompt);
    manager.allocate(a);
    manager.allocate(b);
    int[] tableA = manager.getBlockTable(only(a));
    int[] tableB = manager.getBlockTable(only(b));
    assertEquals(tableA[0], tableB[0], "the complete block is shared");
    assertNotEquals(tableA[1], tableB[1], "the partial block is not");
    only(a).setStatus(SequenceStatus.RUNNING);
    only(a).appendToken(50, 0);
    assertEquals(List.of(), manager.appendSlots(only(a), 0), "nothing shared is written");
    manager.checkInvariants();
  }

  @Test
  void aCompletedBlockIsReusedByTheNextIdenticalPrompt() {
    SequenceGroup a = request("a", 1, new int[] {1, 2, 3});
    manager.allocate(a);
    only(a).setStatus(SequenceStatus.RUNNING);
    only(a).appendToken(4, 0);
    manager.appendSlots(only(a), 0);
    int completed = manager.getBlockTable(only(a))[0];
    manager.free(only(a));
    // The freed block keeps its content: a prompt with the same tokens finds it.
    SequenceGroup b = request("b", 2, new int[] {1, 2, 3, 4, 5});
    manager.allocate(b);
    assertEquals(completed, manager.getBlockTable(only(b))[0]);
    manager.checkInvariants();
  }

  @Test
  void computedBlocksAreReportedForChunkedPrefill() {
    int[] prompt = new int[BLOCK_SIZE * 6 - 1];
    SequenceGroup group = request("chunked", 1, prompt);
    manager.allocate(group);
    manager.markBlocksAsComputed(group, BLOCK_SIZE * 2 + 2);
    assertEquals(2, manager.getCommonComputedBlockIds(group.sequences()).length);
    manager.markBlocksAsComputed(group, BLOCK_SIZE * 3);
    int[] computed = manager.getCommonComputedBlockIds(group.sequences());
    assertEquals(5, computed.length, "never the last block");
    int[] table = manager.getBlockTable(only(group));
    for (int i = 0; i < computed.length; i++) {
      assertEquals(table[i], computed[i]);
    }
  }

  @Test
  void encoderDecoderRequestsAreRefusedWithTheirId() {
    SequenceGroup encDec =
        new SequenceGroup(
            "enc-dec-7",
            new Sequence(9, new int[] {1, 2}),
            List.of(new Sequence(8, new int[] {3})),
            0,
            SamplingParams.greedy());
    UnsupportedOperationException e =
        assertThrows(UnsupportedOperationException.class, () -> manager.canAllocate(encDec));
    assertTrue(e.getMessage().contains("enc-dec-7"), e.getMessage());
    assertThrows(UnsupportedOperationException.class, () -> manager.allocate(encDec));
    assertEquals(8, manager.numFreeGpuBlocks());
  }

  @Test
  void withoutPrefixCachingNothingIsShared() {
    V1BlockSpaceManager plain =
        new V1BlockSpaceManager(new BlockManagerConfig(BLOCK_SIZE, 8, 8, 0, false));
    int[] prompt = {1, 2, 3, 4, 5};
    SequenceGroup a = request("a", 1, prompt);
    SequenceGroup b = request("b", 2, prompt);
    plain.allocate(a);
    plain.allocate(b);
    assertNotEquals(plain.getBlockTable(only(a))[0], plain.getBlockTable(only(b))[0]);
    assertEquals(0, plain.prefixCacheHitRate(Device.GPU));
    assertEquals(0, plain.getCommonComputedBlockIds(a.sequences()).length);
  }
}
