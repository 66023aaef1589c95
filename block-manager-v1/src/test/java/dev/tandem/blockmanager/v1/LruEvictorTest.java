package dev.tandem.blockmanager.v1;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.block.Device;
import org.junit.jupiter.api.Test;

class LruEvictorTest {

  private final LruEvictor evictor = new LruEvictor();

  private static PhysicalBlock block(int number, long hash, long accessed, int hashedTokens) {
    PhysicalBlock block = new PhysicalBlock(Device.GPU, number);
    block.setHash(hash, true, hashedTokens);
    block.setLastAccessedNanos(accessed);
    return block;
  }

  @Test
  void evictsTheLeastRecentlyAccessedBlock() {
    PhysicalBlock old = block(0, -1, 10, 4);
    PhysicalBlock recent = block(1, -2, 20, 4);
    evictor.add(old);
    evictor.add(recent);
    assertSame(old, evictor.evict());
    assertSame(recent, evictor.evict());
    assertEquals(0, evictor.numBlocks());
  }

  @Test
  void amongEquallyOldBlocksEvictsTheLongestPrefix() {
    PhysicalBlock shortPrefix = block(0, -1, 10, 4);
    PhysicalBlock longPrefix = block(1, -2, 10, 12);
    PhysicalBlock newer = block(2, -3, 11, 99);
    evictor.add(shortPrefix);
    evictor.add(longPrefix);
    evictor.add(newer);
    assertSame(longPrefix, evictor.evict());
  }

  @Test
  void evictionForgetsThatTheContentWasComputed() {
    PhysicalBlock block = block(0, -1, 1, 4);
    block.setComputed(true);
    evictor.add(block);
    assertFalse(evictor.evict().isComputed());
  }

  @Test
  void removeTakesBackByHash() {
    PhysicalBlock block = block(0, -1, 1, 4);
    evictor.add(block);
    assertTrue(evictor.contains(-1));
    assertSame(block, evictor.remove(-1));
    assertFalse(evictor.contains(-1));
    assertThrows(IllegalStateException.class, () -> evictor.remove(-1));
  }

  @Test
  void rejectsBlocksInUseDuplicatesAndEvictingNothing() {
    assertThrows(IllegalStateException.class, evictor::evict);
    PhysicalBlock inUse = block(0, -1, 1, 4);
    inUse.incrementRefCount();
    assertThrows(IllegalStateException.class, () -> evictor.add(inUse));
    evictor.add(block(1, -2, 1, 4));
    assertThrows(IllegalStateException.class, () -> evictor.add(block(2, -2, 1, 4)));
  }
}
