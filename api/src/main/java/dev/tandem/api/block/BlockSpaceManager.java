package dev.tandem.api.block;

import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import java.util.List;

/**
 * Maps sequences' tokens to physical KV-cache blocks, as vLLM's block managers do, extended for
 * encoder/decoder models: a group with an encoder sequence also owns one <b>cross-attention block
 * table</b>, keyed by its request id, holding ceil(encoderLength / blockSize) blocks that are
 * written once at prefill, read-only after, and shared by all the group's decoder sequences.
 *
 * <p>Cross blocks come from the same pools as self-attention blocks and take part in every
 * operation: {@link #canAllocate} counts them, {@link #swapOut}/{@link #swapIn} move them with the
 * group, {@link #freeCross} returns them. Implementations are not thread-safe: the scheduler owns
 * its manager. Every misuse (unknown sequence or request id, double free, swapping a group in the
 * wrong state) throws an exception that names the offending id; it never corrupts state silently.
 */
public interface BlockSpaceManager {

  /**
   * Whether {@link #allocate} would succeed for the group's {@code WAITING} sequences. Blocks
   * needed = ceil(promptLength / blockSize) for the decoder prompt + ceil(encoderLength /
   * blockSize) for the cross table; watermark = watermark x numGpuBlocks. {@code NEVER} if total −
   * needed &lt; watermark, {@code OK} if free − needed ≥ watermark, else {@code LATER}.
   */
  AllocStatus canAllocate(SequenceGroup group);

  /**
   * Allocates one self-attention block table per {@code WAITING} decoder sequence (the prompt's
   * blocks shared by reference count) and, if the group has an encoder sequence, its cross block
   * table.
   *
   * @throws IllegalStateException if the request id or a sequence already has tables
   */
  void allocate(SequenceGroup group);

  /** Whether every {@code RUNNING} sequence of the group can grow by one token plus lookahead. */
  boolean canAppendSlots(SequenceGroup group, int numLookaheadSlots);

  /**
   * Makes room for the sequence's newest token (its length already counts it) plus {@code
   * numLookaheadSlots}, allocating a block when the last one is full and copying on write when the
   * last block is shared.
   *
   * @return the copy-on-write (src, dst) device block pairs the backend must copy first; empty if
   *     none
   */
  List<BlockMapping> appendSlots(Sequence seq, int numLookaheadSlots);

  /** The child shares all of the parent's blocks (reference counted); the cross table is shared. */
  void fork(Sequence parent, Sequence child);

  /** Whether the group's {@code SWAPPED} sequences and its cross table fit back on the device. */
  AllocStatus canSwapIn(SequenceGroup group, int numLookaheadSlots);

  /**
   * Moves the group's {@code SWAPPED} sequences' blocks and its cross table to the device pool.
   *
   * @return (cpu block, gpu block) pairs the backend must copy host → device
   * @throws IllegalStateException if the group has no swapped sequence
   */
  List<BlockMapping> swapIn(SequenceGroup group);

  /** Whether the group's {@code RUNNING} sequences' blocks and cross table fit in swap space. */
  boolean canSwapOut(SequenceGroup group);

  /**
   * Moves the group's {@code RUNNING} sequences' blocks and its cross table to the host pool.
   *
   * @return (gpu block, cpu block) pairs the backend must copy device → host
   * @throws IllegalStateException if the group has no running sequence
   */
  List<BlockMapping> swapOut(SequenceGroup group);

  /** Releases the decoder sequence's self-attention block table. */
  void free(Sequence seq);

  /** Releases the group's cross block table (when it finishes or is preempted by recompute). */
  void freeCross(SequenceGroup group);

  /** Frees every table; all blocks return to their pools. */
  void reset();

  /**
   * Physical block numbers of the sequence's self-attention table, in token order.
   *
   * @throws IllegalArgumentException if the sequence has no table
   */
  int[] getBlockTable(Sequence seq);

  /**
   * Physical block numbers of the group's cross-attention table.
   *
   * @throws IllegalArgumentException if the group has no cross table
   */
  int[] getCrossBlockTable(SequenceGroup group);

  int numFreeGpuBlocks();

  int numFreeCpuBlocks();

  /** Prefix caching: records an access to the sequence's blocks (for LRU eviction). */
  void accessAllBlocksInSeq(Sequence seq, long accessTimeNanos);

  /** Prefix caching: marks the group's blocks as computed after a prefill of that many tokens. */
  void markBlocksAsComputed(SequenceGroup group, int tokenChunkSize);

  /** Prefix caching: block ids computed already and common to all the given sequences. */
  int[] getCommonComputedBlockIds(List<Sequence> seqs);

  /** Prefix caching: fraction of block lookups that hit the cache, on that device; 0 if none. */
  double prefixCacheHitRate(Device device);

  /**
   * Audits the manager's internal state: no block both free and in use, every block's reference
   * count equal to the number of tables (self and cross) holding it, free + used = total in each
   * pool. O(blocks); for tests and debugging.
   *
   * @throws IllegalStateException describing the first violation found
   */
  void checkInvariants();
}
