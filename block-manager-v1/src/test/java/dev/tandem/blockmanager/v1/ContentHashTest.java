package dev.tandem.blockmanager.v1;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.sequence.Sequence;
import org.junit.jupiter.api.Test;

class ContentHashTest {

  private static long[] hashes(int[] tokens, int blockSize) {
    Sequence seq = new Sequence(0, tokens);
    return ContentHash.ofBlocks(seq, blockSize, tokens.length / blockSize);
  }

  @Test
  void samePrefixSameHashesAndAllNegative() {
    long[] a = hashes(new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 4);
    long[] b = hashes(new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 42}, 4);
    assertEquals(a[0], b[0]);
    assertEquals(a[1], b[1]);
    assertNotEquals(a[2], b[2]);
    for (long h : a) {
      assertTrue(h < 0, "content hashes are negative");
    }
  }

  @Test
  void aChangeInAnEarlyBlockChangesEveryLaterHash() {
    long[] a = hashes(new int[] {1, 2, 3, 4, 5, 6, 7, 8}, 4);
    long[] b = hashes(new int[] {0, 2, 3, 4, 5, 6, 7, 8}, 4);
    assertNotEquals(a[0], b[0]);
    assertNotEquals(a[1], b[1], "block 1 has the same tokens but a different prefix");
  }

  @Test
  void onlyCompleteBlocksHaveHashes() {
    Sequence seq = new Sequence(5, new int[] {1, 2, 3, 4, 5});
    assertEquals(ContentHash.ofBlocks(seq, 4, 1)[0], ContentHash.ofBlock(seq, 4, 0));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> ContentHash.ofBlocks(seq, 4, 2));
    assertTrue(e.getMessage().contains("sequence 5"), e.getMessage());
  }
}
