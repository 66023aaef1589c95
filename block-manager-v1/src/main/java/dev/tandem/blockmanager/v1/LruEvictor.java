package dev.tandem.blockmanager.v1;

import java.util.Iterator;
import java.util.LinkedHashMap;

/**
 * Freed but still cached blocks of a {@link CachedBlockAllocator}, by content hash, as vLLM's
 * {@code LRUEvictor}: a block comes back when its content is needed again, or is evicted (its
 * content forgotten) to make room. Eviction picks the least recently accessed block; among equally
 * old ones, the one covering the most tokens (the end of the longest prefix, least likely reused).
 */
final class LruEvictor {

  // Insertion order = order of freeing, which follows access time: the oldest blocks lead, so the
  // eviction scan stops at the first block accessed later than the candidate.
  private final LinkedHashMap<Long, PhysicalBlock> blocksByHash = new LinkedHashMap<>();

  boolean contains(long hash) {
    return blocksByHash.containsKey(hash);
  }

  int numBlocks() {
    return blocksByHash.size();
  }

  /** Makes a freed block (reference count 0) a candidate for reuse or eviction. */
  void add(PhysicalBlock block) {
    if (block.refCount() != 0) {
      throw new IllegalStateException(block + " is still in use: it cannot become evictable");
    }
    PhysicalBlock previous = blocksByHash.putIfAbsent(block.hash(), block);
    if (previous != null) {
      throw new IllegalStateException(
          block + " and " + previous + " are both cached under hash " + block.hash());
    }
  }

  /**
   * Takes back the cached block with this hash, for reuse of its content.
   *
   * @throws IllegalStateException if no block with that hash is evictable
   */
  PhysicalBlock remove(long hash) {
    PhysicalBlock block = blocksByHash.remove(hash);
    if (block == null) {
      throw new IllegalStateException("no evictable block has hash " + hash);
    }
    return block;
  }

  /**
   * Forgets the content of the least recently used block and returns it for new content.
   *
   * @throws IllegalStateException if nothing is evictable
   */
  PhysicalBlock evict() {
    Iterator<PhysicalBlock> it = blocksByHash.values().iterator();
    if (!it.hasNext()) {
      throw new IllegalStateException("no evictable block left");
    }
    PhysicalBlock victim = it.next();
    while (it.hasNext()) {
      PhysicalBlock block = it.next();
      if (block.lastAccessedNanos() > victim.lastAccessedNanos()) {
        break;
      }
      if (block.lastAccessedNanos() < victim.lastAccessedNanos()
          || block.numHashedTokens() > victim.numHashedTokens()) {
        victim = block;
      }
    }
    blocksByHash.remove(victim.hash());
    victim.setComputed(false);
    return victim;
  }

  /** The evictable blocks, oldest first; for audits. */
  Iterable<PhysicalBlock> blocks() {
    return blocksByHash.values();
  }
}
