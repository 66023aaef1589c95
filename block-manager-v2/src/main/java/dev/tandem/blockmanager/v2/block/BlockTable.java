package dev.tandem.blockmanager.v2.block;

import dev.tandem.api.block.Device;
import dev.tandem.api.sequence.Sequence;
import java.util.Arrays;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The blocks of one sequence, in token order (vLLM's {@code BlockTable}): a decoder sequence's
 * self-attention KV, or a request's cross-attention KV. Blocks are held by reference count in a
 * {@link CpuGpuBlockAllocator}; all of a table's blocks are in one pool, {@link #device()}.
 *
 * <p>Unlike vLLM, the table keeps plain block ids rather than per-table block objects: a block is
 * identified by its id, its content hash (kept by a prefix-caching allocator) and its fill level,
 * which follows from the table's token count. Token ids are read from the sequence when a block
 * fills up, so nothing is copied per step.
 *
 * <p><b>Lookahead slots</b> are slots reserved beyond the known tokens, whose contents the worker
 * may use freely (multi-step decoding, speculative proposals); appending later tokens fills them.
 */
public final class BlockTable {

  private static final long NEVER_ACCESSED = Long.MIN_VALUE;

  private final CpuGpuBlockAllocator allocator;
  private final int blockSize;
  // Decoder tables with prefix caching: full blocks are immutable and hashed, chained from root.
  private final boolean prefixCached;
  private final long rootHash;
  private Device device;
  private int[] blockIds = new int[4]; // global ids; the first numBlocks are in use
  private int numBlocks;
  private int numFullSlots; // tokens written; the rest of the blocks' slots are empty
  private int computedTokens;
  private int numComputedBlocks; // blocks [0, numComputedBlocks) are known to be computed
  private long lastAccessNanos = NEVER_ACCESSED;

  private BlockTable(
      CpuGpuBlockAllocator allocator,
      int blockSize,
      boolean prefixCached,
      long rootHash,
      Device device) {
    if (blockSize < 1) {
      throw new IllegalArgumentException("blockSize=" + blockSize + ": must be at least 1");
    }
    this.allocator = allocator;
    this.blockSize = blockSize;
    this.prefixCached = prefixCached;
    this.rootHash = rootHash;
    this.device = device;
  }

  /**
   * An empty self-attention table on the device. If the allocator caches prefixes, its full blocks
   * are hashed in a chain that starts from {@code rootHash} (see {@link ContentHash}).
   */
  public static BlockTable forDecoder(
      CpuGpuBlockAllocator allocator, int blockSize, long rootHash) {
    return new BlockTable(allocator, blockSize, allocator.cachesPrefixes(), rootHash, Device.GPU);
  }

  /**
   * An empty cross-attention table on the device. Its blocks are never cached one by one: a whole
   * cross table is shared instead, by requests with the same encoder input.
   */
  public static BlockTable forEncoder(CpuGpuBlockAllocator allocator, int blockSize) {
    return new BlockTable(allocator, blockSize, false, 0, Device.GPU);
  }

  /** ceil(numTokens / blockSize): the blocks a table of that many tokens takes at most. */
  public static int numRequiredBlocks(int numTokens, int blockSize) {
    return ceilDiv(numTokens, blockSize);
  }

  private static int ceilDiv(int a, int b) {
    return (a + b - 1) / b;
  }

  /** Allocates blocks for all of the sequence's tokens; an empty sequence takes no block. */
  public void allocate(Sequence seq) {
    if (numBlocks != 0 || numFullSlots != 0) {
      throw new IllegalStateException("the block table of sequence " + seq.id() + " is allocated");
    }
    int length = seq.length();
    blockIds = new int[Math.max(4, numRequiredBlocks(length, blockSize))];
    int numFullBlocks = length / blockSize;
    for (int b = 0; b < numFullBlocks; b++) {
      blockIds[numBlocks++] =
          prefixCached
              ? allocator.allocateImmutable(device, hashOfBlock(seq, b), (b + 1) * blockSize)
              : allocator.allocateMutable(device);
    }
    if (length % blockSize != 0) {
      blockIds[numBlocks++] = allocator.allocateMutable(device);
    }
    numFullSlots = length;
  }

  /** Block {@code b}'s hash: its tokens, chained from the previous block's hash (or the root). */
  private long hashOfBlock(Sequence seq, int b) {
    long previous = b == 0 ? rootHash : allocator.contentHash(blockIds[b - 1]);
    return ContentHash.chain(previous, seq, b * blockSize, (b + 1) * blockSize);
  }

  /**
   * Tokens of the sequence this table does not hold yet (its length counts the newest token).
   *
   * @throws IllegalStateException if the sequence is shorter than the table
   */
  public int numUnseenTokens(Sequence seq) {
    int unseen = seq.length() - numFullSlots;
    if (unseen < 0) {
      throw new IllegalStateException(
          "sequence "
              + seq.id()
              + " has "
              + seq.length()
              + " tokens but its block table holds "
              + numFullSlots);
    }
    return unseen;
  }

  /**
   * vLLM's worst case for the scheduler: every block the append touches may need a new block (a
   * copy on write, or a fresh one), the partly filled last block included.
   */
  public int numBlocksTouchedByAppend(int numNewTokens, int numLookaheadSlots) {
    int firstChunk = blockSize - numFullSlots % blockSize;
    int rest = numNewTokens + numLookaheadSlots - firstChunk;
    return 1 + (rest > 0 ? ceilDiv(rest, blockSize) : 0);
  }

  /** Exactly the blocks {@link #appendTokens} would take: new blocks plus copies on write. */
  public int numBlocksNeededToAppend(int numNewTokens, int numLookaheadSlots) {
    int missingSlots = numNewTokens + numLookaheadSlots - numEmptySlots();
    int needed = missingSlots > 0 ? ceilDiv(missingSlots, blockSize) : 0;
    if (numNewTokens > 0) {
      int last = Math.min(numBlocks - 1, (numFullSlots + numNewTokens - 1) / blockSize);
      for (int b = numFullSlots / blockSize; b <= last; b++) {
        if (!allocator.isAppendable(blockIds[b])) {
          needed++;
        }
      }
    }
    return needed;
  }

  /**
   * Appends the sequence's unseen tokens and reserves {@code numLookaheadSlots} more empty slots. A
   * block about to be written that other tables hold is copied first (the pair is recorded in the
   * allocator's copy-on-write tracker); with prefix caching, each block that fills up becomes
   * immutable and may be replaced by an identical cached block.
   */
  public void appendTokens(Sequence seq, int numLookaheadSlots) {
    requireDevice(Device.GPU, seq);
    int numNew = numUnseenTokens(seq);
    ensureEmptySlots(numNew + numLookaheadSlots);
    if (numNew == 0) {
      return;
    }
    int lastWritten = (numFullSlots + numNew - 1) / blockSize;
    for (int b = numFullSlots / blockSize; b <= lastWritten; b++) {
      blockIds[b] = allocator.copyOnWriteIfShared(blockIds[b]);
    }
    int firstFilled = numFullSlots / blockSize;
    numFullSlots += numNew;
    if (prefixCached) {
      for (int b = firstFilled; b < numFullSlots / blockSize; b++) {
        blockIds[b] =
            allocator.promoteToImmutable(blockIds[b], hashOfBlock(seq, b), (b + 1) * blockSize);
      }
    }
  }

  private void ensureEmptySlots(int numEmptySlots) {
    int missing = numEmptySlots - numEmptySlots();
    if (missing <= 0) {
      return;
    }
    int newBlocks = ceilDiv(missing, blockSize);
    if (numBlocks + newBlocks > blockIds.length) {
      blockIds = Arrays.copyOf(blockIds, Math.max(numBlocks + newBlocks, 2 * blockIds.length));
    }
    for (int i = 0; i < newBlocks; i++) {
      blockIds[numBlocks++] = allocator.allocateMutable(device);
    }
  }

  private int numEmptySlots() {
    return numBlocks * blockSize - numFullSlots;
  }

  /** A table sharing all of this one's blocks (one more reference to each). */
  public BlockTable fork() {
    BlockTable child = new BlockTable(allocator, blockSize, prefixCached, rootHash, device);
    child.blockIds = Arrays.copyOf(blockIds, blockIds.length);
    child.numBlocks = numBlocks;
    child.numFullSlots = numFullSlots;
    child.computedTokens = computedTokens;
    child.numComputedBlocks = numComputedBlocks;
    child.lastAccessNanos = lastAccessNanos;
    for (int b = 0; b < numBlocks; b++) {
      allocator.incrementRef(blockIds[b]);
    }
    return child;
  }

  /**
   * Moves the table to the other pool, releasing its blocks here.
   *
   * @param moved source to copy block ids of this swap so far (see {@link
   *     CpuGpuBlockAllocator#moveReference}); extended with this table's blocks
   */
  public void moveTo(Device target, Map<Integer, Integer> moved) {
    if (device == target) {
      throw new IllegalStateException("the table is in the " + target + " pool already");
    }
    recordAccessInAllocator();
    for (int b = 0; b < numBlocks; b++) {
      blockIds[b] = allocator.moveReference(blockIds[b], target, moved);
    }
    device = target;
  }

  /**
   * A copy of this table in the other pool, in new blocks; this table keeps its blocks. Only for
   * tables without prefix caching (cross tables), whose blocks carry no content metadata.
   *
   * @param copies extended with (source, copy) global block ids, for the backend to copy
   */
  public BlockTable copyTo(Device target, Map<Integer, Integer> copies) {
    if (device == target || prefixCached) {
      throw new IllegalStateException("only a cross table can be copied to the other pool");
    }
    BlockTable copy = new BlockTable(allocator, blockSize, false, rootHash, target);
    copy.blockIds = new int[blockIds.length];
    copy.numFullSlots = numFullSlots;
    for (int b = 0; b < numBlocks; b++) {
      int copyId = allocator.allocateMutable(target);
      copies.put(blockIds[b], copyId);
      copy.blockIds[copy.numBlocks++] = copyId;
    }
    return copy;
  }

  /** Releases every block; the table is empty afterwards. */
  public void free() {
    recordAccessInAllocator();
    for (int b = 0; b < numBlocks; b++) {
      allocator.free(blockIds[b]);
    }
    numBlocks = 0;
    numFullSlots = 0;
    computedTokens = 0;
    numComputedBlocks = 0;
  }

  /**
   * Remembers the sequence's latest access; handed to the allocator (for eviction order) only when
   * the blocks are released, which is the only time it matters, rather than on every step.
   */
  public void recordAccess(long accessTimeNanos) {
    lastAccessNanos = accessTimeNanos;
  }

  private void recordAccessInAllocator() {
    if (lastAccessNanos != NEVER_ACCESSED) {
      for (int b = 0; b < numBlocks; b++) {
        allocator.markAccessed(blockIds[b], lastAccessNanos);
      }
    }
  }

  /**
   * After a prefill (or decode) step of {@code tokenChunkSize} tokens, marks the full blocks now
   * computed. Blocks found computed in the cache count too, so a step that skipped a cached prefix
   * still marks the right blocks.
   */
  public void markComputed(int tokenChunkSize) {
    if (!prefixCached || device != Device.GPU) {
      return;
    }
    int numFullBlocks = numFullSlots / blockSize;
    while (numComputedBlocks < numFullBlocks && allocator.isComputed(blockIds[numComputedBlocks])) {
      numComputedBlocks++;
    }
    computedTokens =
        Math.min(
            numFullSlots, Math.max(computedTokens, numComputedBlocks * blockSize) + tokenChunkSize);
    for (; numComputedBlocks < computedTokens / blockSize; numComputedBlocks++) {
      allocator.markComputed(blockIds[numComputedBlocks]);
    }
  }

  /**
   * The leading computed blocks (pool-local numbers) whose prefill may be skipped. The last block
   * is never included, as in vLLM, so that a fully cached prompt still computes its last block.
   */
  public int[] computedBlockIdsExceptLast() {
    int limit = Math.min(numFullSlots / blockSize, numBlocks - 1);
    int n = 0;
    while (n < limit && allocator.isComputed(blockIds[n])) {
      n++;
    }
    return localIds(n);
  }

  /** Pool-local block numbers, in token order. */
  public int[] physicalBlockIds() {
    return localIds(numBlocks);
  }

  private int[] localIds(int count) {
    int[] ids = new int[count];
    for (int b = 0; b < count; b++) {
      ids[b] = allocator.localId(blockIds[b]);
    }
    return ids;
  }

  /** Global id of block {@code index}. */
  public int blockId(int index) {
    return blockIds[index];
  }

  public int numBlocks() {
    return numBlocks;
  }

  /** Tokens written into the table. */
  public int numFullSlots() {
    return numFullSlots;
  }

  public Device device() {
    return device;
  }

  private void requireDevice(Device expected, Sequence seq) {
    if (device != expected) {
      throw new IllegalStateException(
          "the blocks of sequence "
              + seq.id()
              + " are in the "
              + device
              + " pool; this needs them in the "
              + expected
              + " pool");
    }
  }

  /**
   * Checks the table's own bookkeeping.
   *
   * @param owner names the table in a message, e.g. "sequence 3" (built only on failure)
   */
  public void checkConsistency(Supplier<String> owner) {
    if (numFullSlots > numBlocks * blockSize) {
      throw new IllegalStateException(
          owner.get() + " holds " + numFullSlots + " tokens in " + numBlocks + " blocks");
    }
    for (int b = 0; b < numBlocks; b++) {
      if (allocator.deviceOf(blockIds[b]) != device) {
        throw new IllegalStateException(
            owner.get() + "'s table is in the " + device + " pool but holds block " + blockIds[b]);
      }
    }
  }
}
