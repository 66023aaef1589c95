package dev.tandem.blockmanager.v2.block;

import java.util.BitSet;

/**
 * A pool without prefix caching (vLLM's {@code NaiveBlockAllocator}): a stack of free block ids and
 * their reference counts. Content hashes are ignored; blocks are shared only by forks.
 */
public final class NaiveBlockAllocator implements BlockAllocator {

  private final int firstId;
  private final RefCounter refCounts;
  // Free ids as a stack: allocation pops the top, freeing pushes; the lowest id starts on top.
  private final int[] freeIds;
  private int numFree;

  public NaiveBlockAllocator(int firstBlockId, int numBlocks) {
    if (firstBlockId < 0 || numBlocks < 0) {
      throw new IllegalArgumentException(
          "firstBlockId=" + firstBlockId + ", numBlocks=" + numBlocks + ": must be >= 0");
    }
    this.firstId = firstBlockId;
    this.refCounts = new RefCounter(firstBlockId, numBlocks);
    this.freeIds = new int[numBlocks];
    for (int i = 0; i < numBlocks; i++) {
      freeIds[i] = firstBlockId + numBlocks - 1 - i;
    }
    this.numFree = numBlocks;
  }

  RefCounter refCounter() {
    return refCounts;
  }

  boolean hasFreeBlock() {
    return numFree > 0;
  }

  /** Puts a block whose reference count is already 0 back on the free stack. */
  void returnFreeBlock(int blockId) {
    if (refCounts.get(blockId) != 0) {
      throw new IllegalStateException(
          "block " + blockId + " is still held by " + refCounts.get(blockId) + " tables");
    }
    freeIds[numFree++] = blockId;
  }

  @Override
  public int firstBlockId() {
    return firstId;
  }

  @Override
  public int numTotalBlocks() {
    return freeIds.length;
  }

  @Override
  public int numFreeBlocks() {
    return numFree;
  }

  @Override
  public int refCount(int blockId) {
    return refCounts.get(blockId);
  }

  @Override
  public int allocateMutable() {
    if (numFree == 0) {
      throw new IllegalStateException(
          "no free block: all "
              + freeIds.length
              + " blocks of the pool starting at id "
              + firstId
              + " are in use");
    }
    int blockId = freeIds[--numFree];
    refCounts.increment(blockId);
    return blockId;
  }

  @Override
  public int allocateImmutable(long contentHash, int numTokensTotal) {
    return allocateMutable();
  }

  @Override
  public int promoteToImmutable(int blockId, long contentHash, int numTokensTotal) {
    return blockId;
  }

  @Override
  public long contentHash(int blockId) {
    throw new IllegalStateException("a pool without prefix caching keeps no content hashes");
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
    if (refCounts.decrement(blockId) == 0) {
      freeIds[numFree++] = blockId;
    }
  }

  @Override
  public void copyContentFrom(int blockId, BlockAllocator source, int sourceBlockId) {
    // Nothing to copy: naive blocks carry no metadata beyond their reference count.
  }

  @Override
  public boolean isComputed(int blockId) {
    return false;
  }

  @Override
  public void markComputed(int blockId) {
    // Only prefix caching needs to know which blocks were computed.
  }

  @Override
  public void markAccessed(int blockId, long accessTimeNanos) {
    // No eviction, so no access times.
  }

  @Override
  public double hitRate() {
    return 0;
  }

  @Override
  public boolean cachesPrefixes() {
    return false;
  }

  /**
   * The free stack as a set of pool-local indices.
   *
   * @throws IllegalStateException if an id is on the stack twice or outside the pool
   */
  BitSet freeSet() {
    BitSet free = new BitSet(freeIds.length);
    for (int i = 0; i < numFree; i++) {
      int local = freeIds[i] - firstId;
      if (local < 0 || local >= freeIds.length) {
        throw new IllegalStateException("free list holds block " + freeIds[i] + " of another pool");
      }
      if (free.get(local)) {
        throw new IllegalStateException("block " + freeIds[i] + " is on the free list twice");
      }
      free.set(local);
    }
    return free;
  }

  /** Checks one block's reference count against the tables, and that it is free iff unused. */
  static void checkBlock(int blockId, int refCount, int expected, boolean free) {
    if (refCount != expected) {
      throw new IllegalStateException(
          "block "
              + blockId
              + " has reference count "
              + refCount
              + " but "
              + expected
              + " block tables hold it");
    }
    if (refCount > 0 && free) {
      throw new IllegalStateException(
          "block " + blockId + " is both free and held by " + refCount + " tables");
    }
    if (refCount == 0 && !free) {
      throw new IllegalStateException("block " + blockId + " is neither free nor in use: leaked");
    }
  }

  @Override
  public void checkInvariants(int[] expectedRefCounts) {
    BitSet free = freeSet();
    for (int i = 0; i < freeIds.length; i++) {
      int blockId = firstId + i;
      checkBlock(blockId, refCounts.get(blockId), expectedRefCounts[blockId], free.get(i));
    }
  }
}
