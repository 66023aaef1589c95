package dev.tandem.blockmanager.v2.block;

/**
 * The blocks of one pool (vLLM's {@code BlockAllocator}): hands out physical blocks and counts the
 * tables that hold each. Block ids are global across the two pools of a {@link
 * CpuGpuBlockAllocator}, so an id alone says which pool a block is in.
 *
 * <p>A <em>mutable</em> block is being filled and belongs to one table (or is shared by forks until
 * one of them writes to it: copy-on-write). A full block becomes <em>immutable</em>: with prefix
 * caching it is then known by its content hash and may be shared by every table whose tokens up to
 * and including that block are identical.
 */
public sealed interface BlockAllocator permits NaiveBlockAllocator, PrefixCachingBlockAllocator {

  /** The lowest global block id of this pool; its ids are {@code first .. first + total - 1}. */
  int firstBlockId();

  int numTotalBlocks();

  /** Blocks that can be allocated now, cached blocks that may be evicted included. */
  int numFreeBlocks();

  /** Number of tables holding the block. */
  int refCount(int blockId);

  /**
   * A block for tokens still to be written, with one reference.
   *
   * @throws IllegalStateException if the pool has no free block
   */
  int allocateMutable();

  /**
   * A full block with this content: with prefix caching, the cached block of that hash if there is
   * one (one more reference), else a new block registered under the hash.
   *
   * @param numTokensTotal tokens from the start of the sequence up to the end of this block
   */
  int allocateImmutable(long contentHash, int numTokensTotal);

  /**
   * The mutable block {@code blockId} (one reference) just became full. With prefix caching it is
   * registered under its hash, or, if a block with that content is cached already, released in
   * favour of the cached one.
   *
   * @return the block the table must now hold: {@code blockId} or the cached block
   */
  int promoteToImmutable(int blockId, long contentHash, int numTokensTotal);

  /** The content hash of a full block of a prefix-cached table. */
  long contentHash(int blockId);

  /** One more table holds the (allocated) block. */
  void incrementRef(int blockId);

  /**
   * One table fewer holds the block; at zero it returns to the pool (or, if cached and computed, to
   * the evictor, from which a later identical prefix can take it back).
   */
  void free(int blockId);

  /**
   * Gives the new block {@code blockId} of this pool the content metadata (hash, computed) of
   * {@code sourceBlockId} in {@code source}, whose data the backend copies over in a swap.
   */
  void copyContentFrom(int blockId, BlockAllocator source, int sourceBlockId);

  /** Whether the block's KV data has been computed (prefix caching only; false otherwise). */
  boolean isComputed(int blockId);

  void markComputed(int blockId);

  /** Records an access to the block, for least-recently-used eviction. */
  void markAccessed(int blockId, long accessTimeNanos);

  /** Cache hits / lookups of {@link #allocateImmutable}; 0 when there was no lookup. */
  double hitRate();

  boolean cachesPrefixes();

  /**
   * Checks this pool against the reference counts the tables imply: every count as expected, every
   * block either in use or free (or evictable), never both, free + used = total.
   *
   * @param expectedRefCounts indexed by global block id
   * @throws IllegalStateException describing the first violation
   */
  void checkInvariants(int[] expectedRefCounts);
}
