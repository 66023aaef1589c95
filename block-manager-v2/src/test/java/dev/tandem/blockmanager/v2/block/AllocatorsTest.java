package dev.tandem.blockmanager.v2.block;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.block.BlockMapping;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The naive and prefix-caching pools, the evictor and the copy-on-write tracker, on their own. */
class AllocatorsTest {

  /** Reference counts as the test's own bookkeeping says they must be, checked by the pool. */
  private static void check(BlockAllocator pool, int... refCountsByLocalId) {
    int[] expected = new int[pool.firstBlockId() + pool.numTotalBlocks()];
    for (int i = 0; i < refCountsByLocalId.length; i++) {
      expected[pool.firstBlockId() + i] = refCountsByLocalId[i];
    }
    pool.checkInvariants(expected);
  }

  @Test
  void naivePoolHandsOutEveryBlockOnceThenRefuses() {
    NaiveBlockAllocator pool = new NaiveBlockAllocator(10, 4);
    Set<Integer> ids = new HashSet<>();
    for (int i = 0; i < 4; i++) {
      ids.add(pool.allocateMutable());
    }
    assertEquals(Set.of(10, 11, 12, 13), ids);
    assertEquals(0, pool.numFreeBlocks());
    IllegalStateException e = assertThrows(IllegalStateException.class, pool::allocateMutable);
    assertTrue(e.getMessage().contains("no free block"), e.getMessage());
    check(pool, 1, 1, 1, 1);
  }

  @Test
  void naivePoolCountsReferencesAndRejectsDoubleFree() {
    NaiveBlockAllocator pool = new NaiveBlockAllocator(0, 3);
    int a = pool.allocateMutable();
    pool.incrementRef(a);
    assertEquals(2, pool.refCount(a));
    pool.free(a);
    assertEquals(2, pool.numFreeBlocks());
    pool.free(a);
    assertEquals(3, pool.numFreeBlocks());
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.free(a));
    assertTrue(e.getMessage().contains("block " + a) && e.getMessage().contains("double free"));
    assertThrows(IllegalStateException.class, () -> pool.incrementRef(a));
    check(pool, 0, 0, 0);
  }

  @Test
  void invariantCheckCatchesWrongCounts() {
    NaiveBlockAllocator pool = new NaiveBlockAllocator(0, 2);
    pool.allocateMutable();
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> check(pool, 2, 0));
    assertTrue(e.getMessage().contains("reference count 1 but 2"), e.getMessage());
  }

  @Test
  void immutableBlocksWithTheSameHashAreShared() {
    PrefixCachingBlockAllocator pool = new PrefixCachingBlockAllocator(0, 4);
    int a = pool.allocateImmutable(42, 4);
    int b = pool.allocateImmutable(42, 4);
    int c = pool.allocateImmutable(43, 4);
    assertEquals(a, b);
    assertNotEquals(a, c);
    assertEquals(2, pool.refCount(a));
    assertEquals(2, pool.numFreeBlocks());
    assertEquals(1.0 / 3, pool.hitRate(), 1e-12);
    check(pool, 2, 1);
  }

  @Test
  void promotionReplacesAFilledBlockByTheCachedOne() {
    PrefixCachingBlockAllocator pool = new PrefixCachingBlockAllocator(0, 4);
    int cached = pool.allocateImmutable(7, 4);
    int filling = pool.allocateMutable();
    assertEquals(cached, pool.promoteToImmutable(filling, 7, 4));
    assertEquals(2, pool.refCount(cached));
    assertEquals(0, pool.refCount(filling));
    assertEquals(3, pool.numFreeBlocks());
    int other = pool.allocateMutable();
    assertEquals(other, pool.promoteToImmutable(other, 8, 4));
    assertEquals(8, pool.contentHash(other));
  }

  @Test
  void computedCachedBlocksSurviveTheirTablesUntilEvicted() {
    PrefixCachingBlockAllocator pool = new PrefixCachingBlockAllocator(0, 2);
    int kept = pool.allocateImmutable(1, 4);
    pool.markComputed(kept);
    int dropped = pool.allocateImmutable(2, 4);
    pool.free(kept);
    pool.free(dropped);
    assertEquals(2, pool.numFreeBlocks());
    check(pool, 0, 0);
    // The computed block is still cached: the same prefix finds it again.
    assertEquals(kept, pool.allocateImmutable(1, 4));
    assertTrue(pool.isComputed(kept));
    // The never-computed one left the cache: its hash allocates afresh, not computed.
    int again = pool.allocateImmutable(2, 4);
    assertFalse(pool.isComputed(again));
    // Four lookups (1, 2, 1, 2), one hit.
    assertEquals(0.25, pool.hitRate(), 1e-12);
  }

  @Test
  void evictionTakesTheLeastRecentlyUsedCachedBlock() {
    PrefixCachingBlockAllocator pool = new PrefixCachingBlockAllocator(0, 3);
    int old = pool.allocateImmutable(1, 4);
    int recent = pool.allocateImmutable(2, 4);
    int newest = pool.allocateImmutable(3, 4);
    for (int block : new int[] {old, recent, newest}) {
      pool.markComputed(block);
    }
    pool.markAccessed(old, 100);
    pool.markAccessed(recent, 200);
    pool.markAccessed(newest, 300);
    pool.free(recent);
    pool.free(old);
    pool.free(newest);
    assertEquals(3, pool.numFreeBlocks());
    assertEquals(old, pool.allocateMutable());
    assertEquals(recent, pool.allocateMutable());
    // The hash of the evicted block is gone from the cache.
    assertNotEquals(old, pool.allocateImmutable(1, 4));
  }

  @Test
  void evictorBreaksTiesByEvictingTheLongestPrefixFirst() {
    LruEvictor evictor = new LruEvictor();
    evictor.add(5, 10, 4);
    evictor.add(6, 10, 12);
    evictor.add(7, 5, 8);
    evictor.add(8, 10, 8);
    evictor.update(7, 20);
    assertEquals(
        List.of(6, 8, 5, 7),
        List.of(evictor.evict(), evictor.evict(), evictor.evict(), evictor.evict()));
    assertThrows(IllegalStateException.class, evictor::evict);
    assertThrows(IllegalStateException.class, () -> evictor.remove(5));
  }

  @Test
  void copyOnWriteCopiesOnlySharedBlocksAndRecordsPairs() {
    NaiveBlockAllocator pool = new NaiveBlockAllocator(0, 4);
    CopyOnWriteTracker cow = new CopyOnWriteTracker(pool);
    int own = pool.allocateMutable();
    int shared = pool.allocateMutable();
    pool.incrementRef(shared);
    assertEquals(own, cow.copyIfShared(own));
    int copy = cow.copyIfShared(shared);
    assertNotEquals(shared, copy);
    assertEquals(1, pool.refCount(shared));
    assertEquals(1, pool.refCount(copy));
    assertEquals(List.of(new BlockMapping(shared, copy)), cow.clear());
    assertEquals(List.of(), cow.clear());
  }

  @Test
  void cpuGpuPoolsNumberBlocksGloballyAndReportLocalNumbers() {
    CpuGpuBlockAllocator pools = CpuGpuBlockAllocator.create(false, 3, 2);
    int cpuBlock = pools.allocateMutable(dev.tandem.api.block.Device.CPU);
    assertEquals(3, cpuBlock);
    assertEquals(dev.tandem.api.block.Device.CPU, pools.deviceOf(cpuBlock));
    assertEquals(0, pools.localId(cpuBlock));
    assertThrows(IllegalArgumentException.class, () -> pools.deviceOf(5));
    assertThrows(IllegalStateException.class, () -> pools.copyOnWriteIfShared(cpuBlock));
  }
}
