package dev.tandem.blockmanager.v1;

import dev.tandem.api.block.Device;
import java.util.Map;

/**
 * The free physical blocks of one pool (GPU or CPU), handed out with reference counts as vLLM's v1
 * allocators do. A block returns to the pool when its last reference is freed.
 *
 * <p>Two implementations: {@link UncachedBlockAllocator} (a free list; content hashes are ignored)
 * and {@link CachedBlockAllocator} (prefix caching: blocks filed by content hash, freed blocks kept
 * for reuse until an LRU eviction). The manager calls both the same way, so the hash arguments are
 * hints the uncached allocator may ignore.
 */
sealed interface BlockAllocator permits UncachedBlockAllocator, CachedBlockAllocator {

  Device device();

  int numTotalBlocks();

  /**
   * Blocks that {@link #allocate()} can hand out now (for the cached allocator: incl. evictable).
   */
  int numFreeBlocks();

  /**
   * A block no one else holds, with reference count 1.
   *
   * @throws IllegalStateException if the pool has no free block
   */
  PhysicalBlock allocate();

  /**
   * A block for content with this hash, shared with any holder of the same content when caching
   * (its reference count incremented); a fresh block otherwise.
   *
   * @param numHashedTokens tokens the hash covers (the whole prefix up to this block's end)
   */
  PhysicalBlock allocate(long contentHash, int numHashedTokens);

  /** A block on this pool for a copy of {@code source} (from the other pool), for swapping. */
  PhysicalBlock allocateCopyOf(PhysicalBlock source);

  /**
   * Drops one reference to the block; the pool gets it back at zero.
   *
   * @throws IllegalStateException on a double free or a block of another pool
   */
  void free(PhysicalBlock block);

  /**
   * Prefix caching: files a block whose content just became complete under its content hash and
   * returns the block the table should hold from now on: the same block, or (when the content is
   * cached already) the cached one, in which case {@code block}'s reference was freed.
   */
  PhysicalBlock promote(PhysicalBlock block, long contentHash, int numHashedTokens);

  /** Fraction of content-hash lookups that found a cached block; 0 when there were none. */
  double hitRate();

  /**
   * Audits this pool against the blocks the manager's tables hold: each held block belongs to this
   * pool, its reference count equals the number of tables holding it, it is not also free, and free
   * + held = total.
   *
   * @param holders block → number of tables that hold it (only this pool's device)
   * @throws IllegalStateException describing the first violation
   */
  void checkConsistency(Map<PhysicalBlock, Integer> holders);

  /** The common part of every audit: ownership and reference counts of the held blocks. */
  static void checkHeldBlocks(
      BlockAllocator allocator, PhysicalBlock[] owned, Map<PhysicalBlock, Integer> holders) {
    for (Map.Entry<PhysicalBlock, Integer> entry : holders.entrySet()) {
      PhysicalBlock block = entry.getKey();
      int number = block.blockNumber();
      if (block.device() != allocator.device()
          || number < 0
          || number >= owned.length
          || owned[number] != block) {
        throw new IllegalStateException(
            block
                + " is held by a table but does not belong to the "
                + allocator.device()
                + " pool");
      }
      if (block.refCount() != entry.getValue()) {
        throw new IllegalStateException(
            block + " is held by " + entry.getValue() + " tables but its reference count differs");
      }
    }
    if (allocator.numFreeBlocks() + holders.size() != allocator.numTotalBlocks()) {
      throw new IllegalStateException(
          allocator.device()
              + " pool: "
              + allocator.numFreeBlocks()
              + " free + "
              + holders.size()
              + " held != "
              + allocator.numTotalBlocks()
              + " total");
    }
  }
}
