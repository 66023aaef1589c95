package dev.tandem.blockmanager.v1;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.block.Device;
import java.util.IdentityHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CachedBlockAllocatorTest {

  private static final long H1 = -1;
  private static final long H2 = -2;
  private static final long H3 = -3;

  private final CachedBlockAllocator allocator = new CachedBlockAllocator(Device.GPU, 2);

  @Test
  void sameContentSharesOneBlockAndCountsAHit() {
    PhysicalBlock first = allocator.allocate(H1, 4);
    PhysicalBlock second = allocator.allocate(H1, 4);
    assertSame(first, second);
    assertEquals(2, first.refCount());
    assertEquals(1, allocator.numFreeBlocks());
    assertEquals(0.5, allocator.hitRate());
    audit(Map.of(first, 2));
  }

  @Test
  void freedContentStaysCachedUntilEvicted() {
    PhysicalBlock block = allocator.allocate(H1, 4);
    block.setComputed(true);
    allocator.free(block);
    assertEquals(2, allocator.numFreeBlocks(), "a cached block counts as free");
    PhysicalBlock revived = allocator.allocate(H1, 4);
    assertSame(block, revived);
    assertTrue(revived.isComputed(), "its content is still there");
    audit(Map.of(revived, 1));
  }

  @Test
  void fullPoolEvictsTheLeastRecentlyUsedContent() {
    PhysicalBlock old = allocator.allocate(H1, 4);
    PhysicalBlock recent = allocator.allocate(H2, 4);
    old.setLastAccessedNanos(1);
    recent.setLastAccessedNanos(2);
    allocator.free(old);
    allocator.free(recent);
    PhysicalBlock fresh = allocator.allocate(H3, 4);
    assertSame(old, fresh, "the older content is evicted");
    assertFalse(fresh.isComputed());
    assertSame(recent, allocator.allocate(H2, 4), "the newer content survived");
  }

  @Test
  void blocksWithoutContentAreReusedBeforeCachedContentIsEvicted() {
    PhysicalBlock cached = allocator.allocate(H1, 4);
    PhysicalBlock plain = allocator.allocate();
    allocator.free(cached);
    allocator.free(plain);
    assertSame(plain, allocator.allocate());
    assertSame(cached, allocator.allocate(H1, 4));
  }

  @Test
  void blocksWithoutContentAreNeverShared() {
    PhysicalBlock a = allocator.allocate();
    PhysicalBlock b = allocator.allocate();
    assertNotSame(a, b);
    // A swapped-in copy of a block without content must not alias another one (vLLM's counters
    // of two pools could collide here).
    CachedBlockAllocator other = new CachedBlockAllocator(Device.CPU, 2);
    PhysicalBlock copyOfA = other.allocateCopyOf(a);
    PhysicalBlock copyOfB = other.allocateCopyOf(b);
    assertNotSame(copyOfA, copyOfB);
  }

  @Test
  void promotionFilesABlockUnderItsContentOrHandsBackTheCachedOne() {
    PhysicalBlock partial = allocator.allocate();
    PhysicalBlock promoted = allocator.promote(partial, H1, 4);
    assertSame(partial, promoted);
    assertTrue(promoted.isContentHashed());
    PhysicalBlock duplicate = allocator.allocate();
    PhysicalBlock shared = allocator.promote(duplicate, H1, 4);
    assertSame(promoted, shared, "identical content is shared");
    assertEquals(2, shared.refCount());
    assertEquals(0, duplicate.refCount(), "the duplicate was freed");
    assertEquals(1, allocator.numFreeBlocks());
    audit(Map.of(shared, 2));
  }

  @Test
  void doubleFreeAndFullPoolAreRejected() {
    PhysicalBlock a = allocator.allocate(H1, 4);
    allocator.allocate(H2, 4);
    assertThrows(IllegalStateException.class, allocator::allocate);
    allocator.free(a);
    assertThrows(IllegalStateException.class, () -> allocator.free(a));
  }

  @Test
  void auditFindsABlockFiledButHeldByNoTable() {
    allocator.allocate(H1, 4);
    assertThrows(IllegalStateException.class, () -> audit(Map.of()));
  }

  private void audit(Map<PhysicalBlock, Integer> holders) {
    allocator.checkConsistency(new IdentityHashMap<>(holders));
  }
}
