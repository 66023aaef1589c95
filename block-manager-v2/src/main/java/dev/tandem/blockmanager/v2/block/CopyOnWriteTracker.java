package dev.tandem.blockmanager.v2.block;

import dev.tandem.api.block.BlockMapping;
import java.util.ArrayList;
import java.util.List;

/**
 * Copy-on-write for one pool (vLLM's {@code CopyOnWriteTracker}): a table about to write into a
 * block that other tables hold gets a fresh copy instead, and the (source, copy) pair is recorded
 * for the backend, which must copy the block's data before the step runs.
 */
final class CopyOnWriteTracker {

  private final BlockAllocator allocator;
  private final List<BlockMapping> pending = new ArrayList<>();

  CopyOnWriteTracker(BlockAllocator allocator) {
    this.allocator = allocator;
  }

  /** A block only one table holds may be written in place. */
  boolean isAppendable(int blockId) {
    return allocator.refCount(blockId) <= 1;
  }

  /**
   * @return {@code blockId} if it may be written in place, else a new block whose (source, copy)
   *     pair is recorded; the table gives up its reference to the source
   */
  int copyIfShared(int blockId) {
    if (isAppendable(blockId)) {
      return blockId;
    }
    int copy = allocator.allocateMutable();
    allocator.free(blockId);
    int first = allocator.firstBlockId();
    pending.add(new BlockMapping(blockId - first, copy - first));
    return copy;
  }

  /** Forgets the recorded copies into {@code blockId}, which was released before the step ran. */
  void discardCopiesInto(int blockId) {
    int dst = blockId - allocator.firstBlockId();
    pending.removeIf(copy -> copy.dst() == dst);
  }

  /** The recorded pairs, in pool-local block numbers, since the last call; then forgets them. */
  List<BlockMapping> clear() {
    List<BlockMapping> copies = List.copyOf(pending);
    pending.clear();
    return copies;
  }
}
