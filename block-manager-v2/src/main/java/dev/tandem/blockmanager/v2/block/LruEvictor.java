package dev.tandem.blockmanager.v2.block;

import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Cached blocks that no table holds, in eviction order (vLLM's {@code LRUEvictor}): the least
 * recently accessed first; among blocks accessed at the same time, the one ending the longest
 * prefix first, so that the shorter prefixes it extends stay usable longest.
 */
final class LruEvictor {

  private record Entry(int blockId, long lastAccessedNanos, int numHashedTokens) {}

  private static final Comparator<Entry> EVICTION_ORDER =
      Comparator.comparingLong(Entry::lastAccessedNanos)
          .thenComparing(Comparator.comparingInt(Entry::numHashedTokens).reversed())
          .thenComparingInt(Entry::blockId);

  private final TreeSet<Entry> order = new TreeSet<>(EVICTION_ORDER);
  private final Map<Integer, Entry> byBlockId = new HashMap<>();

  /**
   * @param numHashedTokens tokens from the start of the sequence up to the end of the block
   */
  void add(int blockId, long lastAccessedNanos, int numHashedTokens) {
    Entry entry = new Entry(blockId, lastAccessedNanos, numHashedTokens);
    if (byBlockId.putIfAbsent(blockId, entry) != null) {
      throw new IllegalStateException("block " + blockId + " is already in the evictor");
    }
    order.add(entry);
  }

  boolean contains(int blockId) {
    return byBlockId.containsKey(blockId);
  }

  /** Takes the block back out (it is needed again), without evicting it. */
  void remove(int blockId) {
    Entry entry = byBlockId.remove(blockId);
    if (entry == null) {
      throw new IllegalStateException("block " + blockId + " is not in the evictor");
    }
    order.remove(entry);
  }

  void update(int blockId, long lastAccessedNanos) {
    Entry old = byBlockId.get(blockId);
    if (old == null) {
      throw new IllegalStateException("block " + blockId + " is not in the evictor");
    }
    order.remove(old);
    Entry entry = new Entry(blockId, lastAccessedNanos, old.numHashedTokens());
    order.add(entry);
    byBlockId.put(blockId, entry);
  }

  /**
   * Removes and returns the block to evict next.
   *
   * @throws IllegalStateException if the evictor is empty
   */
  int evict() {
    Entry entry = order.pollFirst();
    if (entry == null) {
      throw new IllegalStateException("no block to evict");
    }
    byBlockId.remove(entry.blockId());
    return entry.blockId();
  }

  int size() {
    return byBlockId.size();
  }

  Set<Integer> blockIds() {
    return byBlockId.keySet();
  }
}
