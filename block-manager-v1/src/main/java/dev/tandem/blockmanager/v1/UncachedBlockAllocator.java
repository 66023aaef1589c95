package dev.tandem.blockmanager.v1;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.block.Device;
import java.util.Map;

/** A pool without prefix caching: a stack of free block numbers; content hashes are ignored. */
final class UncachedBlockAllocator implements BlockAllocator {

  private final Device device;
  private final PhysicalBlock[] blocks;
  // Free block numbers as a stack: the most recently freed block is reused first (warm in caches).
  private final int[] freeStack;
  private int numFree;

  UncachedBlockAllocator(Device device, int numBlocks) {
    this.device = requireNonNull(device, "device is null");
    this.blocks = new PhysicalBlock[numBlocks];
    this.freeStack = new int[numBlocks];
    for (int i = 0; i < numBlocks; i++) {
      blocks[i] = new PhysicalBlock(device, i);
      // Pushed in reverse so that block 0 is handed out first.
      freeStack[i] = numBlocks - 1 - i;
    }
    this.numFree = numBlocks;
  }

  @Override
  public Device device() {
    return device;
  }

  @Override
  public int numTotalBlocks() {
    return blocks.length;
  }

  @Override
  public int numFreeBlocks() {
    return numFree;
  }

  @Override
  public PhysicalBlock allocate() {
    if (numFree == 0) {
      throw new IllegalStateException(
          "out of " + device + " blocks: all " + blocks.length + " are in use");
    }
    PhysicalBlock block = blocks[freeStack[--numFree]];
    block.incrementRefCount();
    return block;
  }

  @Override
  public PhysicalBlock allocate(long contentHash, int numHashedTokens) {
    return allocate();
  }

  @Override
  public PhysicalBlock allocateCopyOf(PhysicalBlock source) {
    return allocate();
  }

  @Override
  public void free(PhysicalBlock block) {
    checkOwned(block);
    if (block.decrementRefCount() == 0) {
      freeStack[numFree++] = block.blockNumber();
    }
  }

  @Override
  public PhysicalBlock promote(PhysicalBlock block, long contentHash, int numHashedTokens) {
    return block;
  }

  @Override
  public double hitRate() {
    return 0;
  }

  private void checkOwned(PhysicalBlock block) {
    int number = block.blockNumber();
    if (block.device() != device || number >= blocks.length || blocks[number] != block) {
      throw new IllegalStateException(block + " does not belong to the " + device + " pool");
    }
  }

  @Override
  public void checkConsistency(Map<PhysicalBlock, Integer> holders) {
    boolean[] seen = new boolean[blocks.length];
    for (int i = 0; i < numFree; i++) {
      int number = freeStack[i];
      if (seen[number]) {
        throw new IllegalStateException(blocks[number] + " is on the free list twice");
      }
      seen[number] = true;
      if (blocks[number].refCount() != 0 || holders.containsKey(blocks[number])) {
        throw new IllegalStateException(blocks[number] + " is both free and in use");
      }
    }
    BlockAllocator.checkHeldBlocks(this, blocks, holders);
  }
}
