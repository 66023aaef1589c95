package dev.tandem.blockmanager.v2.block;

import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;

/**
 * A pool with prefix caching (vLLM's {@code PrefixCachingBlockAllocator}). A full block is known by
 * its content hash, chained from the hashes of the blocks before it, so equal hashes mean equal
 * prefixes; a table allocating a full block whose hash is cached shares that block instead.
 *
 * <p>Every block is in exactly one state:
 *
 * <ul>
 *   <li><b>free</b>: on the hashless allocator's free stack, reference count 0;
 *   <li><b>in use</b>: reference count &gt; 0; mutable (no hash) or immutable (hashed, and usually
 *       the cache entry for its hash);
 *   <li><b>evictable</b>: cached and computed, reference count 0, in the {@link LruEvictor}. It
 *       counts as free; a later lookup of its hash revives it, an allocation finding no free block
 *       evicts the least recently used one.
 * </ul>
 *
 * <p>A hashed block that was never computed (its prefill did not run) is not worth keeping: when
 * its last table lets go it goes back to the free stack, and its hash leaves the cache. A block
 * copied in by a swap whose hash is already cached here stays outside the cache (hashed but not the
 * cache entry), so that swapping never makes two tables share data the backend has not copied.
 */
public final class PrefixCachingBlockAllocator implements BlockAllocator {

  private static final long NEVER_ACCESSED = Long.MIN_VALUE;

  private final NaiveBlockAllocator hashless;
  private final RefCounter refCounts;
  private final int firstId;
  private final Map<Long, Integer> cachedBlocks = new HashMap<>();
  private final LruEvictor evictor = new LruEvictor();
  // Per block, indexed by (id - firstId). numTokensTotal == 0 marks a block without hash.
  private final long[] contentHashes;
  private final int[] numTokensTotal;
  private final boolean[] computed;
  private final long[] lastAccessedNanos;
  private long lookups;
  private long hits;

  public PrefixCachingBlockAllocator(int firstBlockId, int numBlocks) {
    this.hashless = new NaiveBlockAllocator(firstBlockId, numBlocks);
    this.refCounts = hashless.refCounter();
    this.firstId = firstBlockId;
    this.contentHashes = new long[numBlocks];
    this.numTokensTotal = new int[numBlocks];
    this.computed = new boolean[numBlocks];
    this.lastAccessedNanos = new long[numBlocks];
    Arrays.fill(lastAccessedNanos, NEVER_ACCESSED);
  }

  @Override
  public int firstBlockId() {
    return firstId;
  }

  @Override
  public int numTotalBlocks() {
    return hashless.numTotalBlocks();
  }

  @Override
  public int numFreeBlocks() {
    return hashless.numFreeBlocks() + evictor.size();
  }

  @Override
  public int refCount(int blockId) {
    return refCounts.get(blockId);
  }

  /** Takes a free block, or else evicts the least recently used cached one. */
  @Override
  public int allocateMutable() {
    int blockId;
    if (hashless.hasFreeBlock()) {
      blockId = hashless.allocateMutable();
    } else if (evictor.size() > 0) {
      blockId = evictor.evict();
      cachedBlocks.remove(contentHashes[blockId - firstId]);
      refCounts.increment(blockId);
    } else {
      throw new IllegalStateException(
          "no free block: all "
              + numTotalBlocks()
              + " blocks of the pool starting at id "
              + firstId
              + " are in use");
    }
    int i = blockId - firstId;
    numTokensTotal[i] = 0;
    computed[i] = false;
    lastAccessedNanos[i] = NEVER_ACCESSED;
    return blockId;
  }

  @Override
  public int allocateImmutable(long contentHash, int numTokensTotal) {
    lookups++;
    Integer cached = cachedBlocks.get(contentHash);
    if (cached != null) {
      hits++;
      reference(cached);
      return cached;
    }
    int blockId = allocateMutable();
    register(blockId, contentHash, numTokensTotal);
    return blockId;
  }

  @Override
  public int promoteToImmutable(int blockId, long contentHash, int numTokensTotal) {
    if (this.numTokensTotal[blockId - firstId] != 0) {
      throw new IllegalStateException("block " + blockId + " is immutable already");
    }
    Integer cached = cachedBlocks.get(contentHash);
    if (cached == null) {
      register(blockId, contentHash, numTokensTotal);
      return blockId;
    }
    // The same prefix is cached already: keep one copy of it.
    hashless.free(blockId);
    reference(cached);
    return cached;
  }

  private void register(int blockId, long contentHash, int tokensUpToBlockEnd) {
    int i = blockId - firstId;
    contentHashes[i] = contentHash;
    numTokensTotal[i] = tokensUpToBlockEnd;
    cachedBlocks.put(contentHash, blockId);
  }

  /** One more reference to a cached block, reviving it from the evictor if no table held it. */
  private void reference(int blockId) {
    if (refCounts.increment(blockId) == 1) {
      evictor.remove(blockId);
    }
  }

  @Override
  public long contentHash(int blockId) {
    int i = blockId - firstId;
    if (numTokensTotal[i] == 0) {
      throw new IllegalStateException("block " + blockId + " is not full: it has no content hash");
    }
    return contentHashes[i];
  }

  @Override
  public void incrementRef(int blockId) {
    if (refCounts.get(blockId) == 0) {
      throw new IllegalStateException("block " + blockId + " is free: it cannot be shared");
    }
    refCounts.increment(blockId);
  }

  @Override
  public void free(int blockId) {
    int i = blockId - firstId;
    if (numTokensTotal[i] == 0) {
      hashless.free(blockId);
      return;
    }
    if (refCounts.decrement(blockId) > 0) {
      return;
    }
    boolean cacheEntry = isCacheEntry(blockId);
    if (cacheEntry && computed[i]) {
      evictor.add(blockId, lastAccessedNanos[i], numTokensTotal[i]);
      return;
    }
    if (cacheEntry) {
      cachedBlocks.remove(contentHashes[i]);
    }
    numTokensTotal[i] = 0;
    computed[i] = false;
    hashless.returnFreeBlock(blockId);
  }

  private boolean isCacheEntry(int blockId) {
    Integer cached = cachedBlocks.get(contentHashes[blockId - firstId]);
    return cached != null && cached == blockId;
  }

  @Override
  public void copyContentFrom(int blockId, BlockAllocator source, int sourceBlockId) {
    if (!(source instanceof PrefixCachingBlockAllocator cachingSource)) {
      throw new IllegalArgumentException("both pools of a swap must cache prefixes");
    }
    int s = sourceBlockId - cachingSource.firstId;
    if (cachingSource.numTokensTotal[s] == 0) {
      return;
    }
    int i = blockId - firstId;
    contentHashes[i] = cachingSource.contentHashes[s];
    numTokensTotal[i] = cachingSource.numTokensTotal[s];
    computed[i] = cachingSource.computed[s];
    lastAccessedNanos[i] = cachingSource.lastAccessedNanos[s];
    cachedBlocks.putIfAbsent(contentHashes[i], blockId);
  }

  @Override
  public boolean isComputed(int blockId) {
    return computed[blockId - firstId];
  }

  @Override
  public void markComputed(int blockId) {
    if (refCounts.get(blockId) == 0) {
      throw new IllegalStateException("block " + blockId + " is not in use");
    }
    computed[blockId - firstId] = true;
  }

  @Override
  public void markAccessed(int blockId, long accessTimeNanos) {
    lastAccessedNanos[blockId - firstId] = accessTimeNanos;
    if (evictor.contains(blockId)) {
      evictor.update(blockId, accessTimeNanos);
    }
  }

  @Override
  public double hitRate() {
    return lookups == 0 ? 0 : (double) hits / lookups;
  }

  @Override
  public boolean cachesPrefixes() {
    return true;
  }

  @Override
  public void checkInvariants(int[] expectedRefCounts) {
    BitSet freeStack = hashless.freeSet();
    BitSet free = (BitSet) freeStack.clone();
    for (int blockId : evictor.blockIds()) {
      int i = blockId - firstId;
      if (free.get(i)) {
        throw new IllegalStateException("block " + blockId + " is both free and evictable");
      }
      if (!isCacheEntry(blockId) || !computed[i]) {
        throw new IllegalStateException(
            "evictable block " + blockId + " is not a computed cache entry");
      }
      free.set(i);
    }
    for (int i = 0; i < numTotalBlocks(); i++) {
      int blockId = firstId + i;
      NaiveBlockAllocator.checkBlock(
          blockId, refCounts.get(blockId), expectedRefCounts[blockId], free.get(i));
      if (freeStack.get(i) && numTokensTotal[i] != 0) {
        throw new IllegalStateException("free block " + blockId + " still has a content hash");
      }
    }
    for (Map.Entry<Long, Integer> entry : cachedBlocks.entrySet()) {
      int i = entry.getValue() - firstId;
      if (numTokensTotal[i] == 0 || contentHashes[i] != entry.getKey()) {
        throw new IllegalStateException(
            "cache entry for hash "
                + entry.getKey()
                + " names block "
                + entry.getValue()
                + ", which does not hold that content");
      }
    }
  }
}
