package dev.tandem.blockmanager.v2.block;

/**
 * Reference counts of one pool's blocks (vLLM's {@code RefCounter}), indexed by global block id. A
 * count is the number of block tables holding the block; 0 means the block is free or cached.
 */
final class RefCounter {

  private final int firstId;
  private final int[] counts;

  RefCounter(int firstId, int numBlocks) {
    this.firstId = firstId;
    this.counts = new int[numBlocks];
  }

  int get(int blockId) {
    return counts[index(blockId)];
  }

  int increment(int blockId) {
    return ++counts[index(blockId)];
  }

  /**
   * @throws IllegalStateException if the block is not in use (a double free)
   */
  int decrement(int blockId) {
    int i = index(blockId);
    if (counts[i] == 0) {
      throw new IllegalStateException("block " + blockId + " is already free: double free");
    }
    return --counts[i];
  }

  private int index(int blockId) {
    int i = blockId - firstId;
    if (i < 0 || i >= counts.length) {
      throw new IllegalArgumentException(
          "block "
              + blockId
              + " is not in this pool: its ids are "
              + firstId
              + ".."
              + (firstId + counts.length - 1));
    }
    return i;
  }
}
