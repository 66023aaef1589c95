package dev.tandem.blockmanager.v2.block;

import dev.tandem.api.block.BlockMapping;
import dev.tandem.api.block.Device;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The two pools a block manager keeps (vLLM's {@code CpuGpuBlockAllocator}): the device pool holds
 * global block ids {@code 0 .. numGpuBlocks - 1}, the host swap pool the ids after it, so a block
 * id alone says which pool it is in. What leaves this class (block tables, swap and copy-on-write
 * pairs) is in pool-local numbers, starting at 0 in each pool.
 */
public final class CpuGpuBlockAllocator {

  private final BlockAllocator gpu;
  private final BlockAllocator cpu;
  private final CopyOnWriteTracker copyOnWrites;

  private CpuGpuBlockAllocator(BlockAllocator gpu, BlockAllocator cpu) {
    this.gpu = gpu;
    this.cpu = cpu;
    this.copyOnWrites = new CopyOnWriteTracker(gpu);
  }

  /** Two naive pools, or two prefix-caching pools. */
  public static CpuGpuBlockAllocator create(
      boolean prefixCaching, int numGpuBlocks, int numCpuBlocks) {
    if (prefixCaching) {
      return new CpuGpuBlockAllocator(
          new PrefixCachingBlockAllocator(0, numGpuBlocks),
          new PrefixCachingBlockAllocator(numGpuBlocks, numCpuBlocks));
    }
    return new CpuGpuBlockAllocator(
        new NaiveBlockAllocator(0, numGpuBlocks),
        new NaiveBlockAllocator(numGpuBlocks, numCpuBlocks));
  }

  private BlockAllocator allocator(Device device) {
    return device == Device.GPU ? gpu : cpu;
  }

  /** The pool of a global block id. */
  public Device deviceOf(int blockId) {
    if (blockId < 0 || blockId >= numBlocks()) {
      throw new IllegalArgumentException(
          "block " + blockId + " is in neither pool: ids are 0.." + (numBlocks() - 1));
    }
    return blockId < cpu.firstBlockId() ? Device.GPU : Device.CPU;
  }

  private BlockAllocator allocatorOf(int blockId) {
    return allocator(deviceOf(blockId));
  }

  /** The block's number within its pool, as tables and mappings give it to the backend. */
  public int localId(int blockId) {
    return blockId - allocatorOf(blockId).firstBlockId();
  }

  /** Blocks in both pools together: the size of arrays indexed by global block id. */
  public int numBlocks() {
    return gpu.numTotalBlocks() + cpu.numTotalBlocks();
  }

  public boolean cachesPrefixes() {
    return gpu.cachesPrefixes();
  }

  public int numFreeBlocks(Device device) {
    return allocator(device).numFreeBlocks();
  }

  public int numTotalBlocks(Device device) {
    return allocator(device).numTotalBlocks();
  }

  public int allocateMutable(Device device) {
    return allocator(device).allocateMutable();
  }

  public int allocateImmutable(Device device, long contentHash, int numTokensTotal) {
    return allocator(device).allocateImmutable(contentHash, numTokensTotal);
  }

  /**
   * See {@link BlockAllocator#promoteToImmutable}. If the block is released for a cached one, a
   * copy on write into it recorded by the same append is dropped: it would copy into a free block.
   */
  public int promoteToImmutable(int blockId, long contentHash, int numTokensTotal) {
    int kept = allocatorOf(blockId).promoteToImmutable(blockId, contentHash, numTokensTotal);
    if (kept != blockId) {
      copyOnWrites.discardCopiesInto(blockId);
    }
    return kept;
  }

  public long contentHash(int blockId) {
    return allocatorOf(blockId).contentHash(blockId);
  }

  public void incrementRef(int blockId) {
    allocatorOf(blockId).incrementRef(blockId);
  }

  public void free(int blockId) {
    allocatorOf(blockId).free(blockId);
  }

  public boolean isComputed(int blockId) {
    return allocatorOf(blockId).isComputed(blockId);
  }

  public void markComputed(int blockId) {
    allocatorOf(blockId).markComputed(blockId);
  }

  public void markAccessed(int blockId, long accessTimeNanos) {
    allocatorOf(blockId).markAccessed(blockId, accessTimeNanos);
  }

  /** Whether a device block may be written in place: no other table holds it. */
  public boolean isAppendable(int blockId) {
    return copyOnWrites.isAppendable(blockId);
  }

  /** The device block itself if no other table holds it, else a recorded copy of it. */
  public int copyOnWriteIfShared(int blockId) {
    if (deviceOf(blockId) != Device.GPU) {
      throw new IllegalStateException("block " + blockId + " is in the swap pool: not writable");
    }
    return copyOnWrites.copyIfShared(blockId);
  }

  /** The device-local (source, copy) pairs recorded since the last call. */
  public List<BlockMapping> clearCopyOnWrites() {
    return copyOnWrites.clear();
  }

  /**
   * Moves one table's reference to {@code blockId} into the other pool. The first reference to a
   * block allocates its copy there (recorded in {@code moved}); later references share that copy,
   * so blocks shared within the moved tables stay shared. The source block is released.
   *
   * @param moved global source id to global copy id, for every block moved so far by this swap
   * @return the global id of the copy
   */
  public int moveReference(int blockId, Device target, Map<Integer, Integer> moved) {
    BlockAllocator source = allocatorOf(blockId);
    BlockAllocator destination = allocator(target);
    if (source == destination) {
      throw new IllegalStateException(
          "block " + blockId + " is in the " + target + " pool already");
    }
    Integer copy = moved.get(blockId);
    int copyId;
    if (copy == null) {
      copyId = destination.allocateMutable();
      destination.copyContentFrom(copyId, source, blockId);
      moved.put(blockId, copyId);
    } else {
      copyId = copy;
      destination.incrementRef(copyId);
    }
    source.free(blockId);
    return copyId;
  }

  /** The (source, copy) pairs of a swap's {@code moved} map, in pool-local numbers. */
  public List<BlockMapping> toMappings(Map<Integer, Integer> moved) {
    List<BlockMapping> mappings = new ArrayList<>(moved.size());
    for (Map.Entry<Integer, Integer> entry : moved.entrySet()) {
      mappings.add(new BlockMapping(localId(entry.getKey()), localId(entry.getValue())));
    }
    return mappings;
  }

  public double hitRate(Device device) {
    return allocator(device).hitRate();
  }

  /**
   * @param expectedRefCounts per global block id, the number of tables holding it
   */
  public void checkInvariants(int[] expectedRefCounts) {
    gpu.checkInvariants(expectedRefCounts);
    cpu.checkInvariants(expectedRefCounts);
  }
}
