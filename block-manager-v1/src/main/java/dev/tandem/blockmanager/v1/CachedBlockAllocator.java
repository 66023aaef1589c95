package dev.tandem.blockmanager.v1;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.block.Device;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * A pool with prefix caching, as vLLM's v1 {@code CachedBlockAllocator}: blocks in use are filed by
 * key; allocating a content hash that is filed already shares that block (reference count + 1), and
 * a freed content-hashed block stays cached in an {@link LruEvictor} until its content is needed
 * again or it is evicted for new content.
 *
 * <p>Keys: content hashes are negative (see {@link ContentHash}); blocks without shareable content
 * (a partly written decoder block) get a unique non-negative key from a counter, so the two never
 * collide. Unlike vLLM, freed blocks without content go to a plain free list, not the evictor: they
 * hold nothing worth keeping and are reused before any cached content is evicted.
 */
final class CachedBlockAllocator implements BlockAllocator {

  private final Device device;
  // Created lazily in block-number order, as vLLM does; blocks[i] is null for i >= numCreated.
  private final PhysicalBlock[] blocks;
  private int numCreated;
  private final Map<Long, PhysicalBlock> inUseByHash = new HashMap<>();
  private final ArrayDeque<PhysicalBlock> freeUnhashed = new ArrayDeque<>();
  private final LruEvictor evictor = new LruEvictor();
  private long nextUniqueKey;
  private long lookups;
  private long hits;

  CachedBlockAllocator(Device device, int numBlocks) {
    this.device = requireNonNull(device, "device is null");
    this.blocks = new PhysicalBlock[numBlocks];
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
    return blocks.length - numCreated + freeUnhashed.size() + evictor.numBlocks();
  }

  @Override
  public PhysicalBlock allocate() {
    PhysicalBlock block = takeFreeBlock();
    block.setHash(nextUniqueKey++, false, 0);
    return fileInUse(block);
  }

  @Override
  public PhysicalBlock allocate(long contentHash, int numHashedTokens) {
    ContentHash.check(contentHash);
    lookups++;
    PhysicalBlock block = inUseByHash.get(contentHash);
    if (block != null) {
      hits++;
      block.incrementRefCount();
      return block;
    }
    if (evictor.contains(contentHash)) {
      hits++;
      return fileInUse(evictor.remove(contentHash));
    }
    block = takeFreeBlock();
    block.setHash(contentHash, true, numHashedTokens);
    return fileInUse(block);
  }

  @Override
  public PhysicalBlock allocateCopyOf(PhysicalBlock source) {
    return source.isContentHashed()
        ? allocate(source.hash(), source.numHashedTokens())
        : allocate();
  }

  @Override
  public void free(PhysicalBlock block) {
    if (block.device() != device || inUseByHash.get(block.hash()) != block) {
      throw new IllegalStateException(
          "double free of " + block + ": it is not in use in the " + device + " pool");
    }
    if (block.decrementRefCount() == 0) {
      inUseByHash.remove(block.hash());
      if (block.isContentHashed()) {
        evictor.add(block);
      } else {
        freeUnhashed.push(block);
      }
    }
  }

  @Override
  public PhysicalBlock promote(PhysicalBlock block, long contentHash, int numHashedTokens) {
    ContentHash.check(contentHash);
    if (block.isContentHashed() && block.hash() == contentHash) {
      return block;
    }
    if (inUseByHash.containsKey(contentHash) || evictor.contains(contentHash)) {
      free(block);
      return allocate(contentHash, numHashedTokens);
    }
    inUseByHash.remove(block.hash());
    block.setHash(contentHash, true, numHashedTokens);
    inUseByHash.put(contentHash, block);
    return block;
  }

  @Override
  public double hitRate() {
    return lookups == 0 ? 0 : (double) hits / lookups;
  }

  /** A block with reference count 0 and no key yet: never-used, then plain free, then evicted. */
  private PhysicalBlock takeFreeBlock() {
    PhysicalBlock block;
    if (!freeUnhashed.isEmpty()) {
      block = freeUnhashed.pop();
    } else if (numCreated < blocks.length) {
      block = new PhysicalBlock(device, numCreated);
      blocks[numCreated++] = block;
    } else if (evictor.numBlocks() > 0) {
      block = evictor.evict();
    } else {
      throw new IllegalStateException(
          "out of " + device + " blocks: all " + blocks.length + " are in use");
    }
    block.setComputed(false);
    return block;
  }

  private PhysicalBlock fileInUse(PhysicalBlock block) {
    block.incrementRefCount();
    inUseByHash.put(block.hash(), block);
    return block;
  }

  @Override
  public void checkConsistency(Map<PhysicalBlock, Integer> holders) {
    for (Map.Entry<Long, PhysicalBlock> entry : inUseByHash.entrySet()) {
      PhysicalBlock block = entry.getValue();
      if (block.hash() != entry.getKey() || !holders.containsKey(block)) {
        throw new IllegalStateException(
            block + " is filed as in use under hash " + entry.getKey() + " but no table holds it");
      }
    }
    if (inUseByHash.size() != holders.size()) {
      throw new IllegalStateException(
          device
              + " pool: "
              + holders.size()
              + " blocks held but "
              + inUseByHash.size()
              + " filed");
    }
    for (PhysicalBlock block : evictor.blocks()) {
      checkFree(block, holders, "evictable");
    }
    for (PhysicalBlock block : freeUnhashed) {
      checkFree(block, holders, "free");
    }
    BlockAllocator.checkHeldBlocks(this, blocks, holders);
  }

  private static void checkFree(
      PhysicalBlock block, Map<PhysicalBlock, Integer> holders, String state) {
    if (block.refCount() != 0 || holders.containsKey(block)) {
      throw new IllegalStateException(block + " is both " + state + " and in use");
    }
  }
}
