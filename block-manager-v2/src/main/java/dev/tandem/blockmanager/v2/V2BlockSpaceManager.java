package dev.tandem.blockmanager.v2;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.block.AllocStatus;
import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockMapping;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.block.Device;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.api.sequence.SequenceStatus;
import dev.tandem.blockmanager.v2.block.BlockTable;
import dev.tandem.blockmanager.v2.block.ContentHash;
import dev.tandem.blockmanager.v2.block.CpuGpuBlockAllocator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * vLLM's v2 block manager ({@code SelfAttnBlockSpaceManager}) for encoder/decoder requests: one
 * {@link BlockTable} per decoder sequence and one cross table per request, over a {@link
 * CpuGpuBlockAllocator} of naive or prefix-caching pools.
 *
 * <p>Beyond vLLM:
 *
 * <ul>
 *   <li>swapping moves a group's cross table with its decoder tables, and keeps blocks shared by
 *       several of the group's tables shared (one copy each) instead of copying them per table;
 *   <li>prefix caching works for encoder/decoder requests: decoder block hashes are chained from a
 *       hash of the encoder input ({@link ContentHash}), and requests with identical encoder inputs
 *       share one cross table ({@link CrossBlockTables} documents how shared tables are swapped);
 *   <li>an empty encoder input gets an empty cross table;
 *   <li>every operation checks its preconditions (unknown or double-freed sequence or request id,
 *       wrong pool, not enough free blocks) before changing anything, and throws naming the id.
 * </ul>
 *
 * <p>{@link #freeCross} of a decoder-only request does nothing: it has no cross table to free. The
 * watermark is {@code (int) (watermark * numGpuBlocks)} blocks, as in vLLM.
 */
public final class V2BlockSpaceManager implements BlockSpaceManager {

  private static final System.Logger LOG = System.getLogger(V2BlockSpaceManager.class.getName());

  private final int blockSize;
  private final int watermarkBlocks;
  private final CpuGpuBlockAllocator allocator;
  private final Map<Long, BlockTable> blockTables = new HashMap<>();
  private final CrossBlockTables crossTables;

  public V2BlockSpaceManager(BlockManagerConfig config) {
    requireNonNull(config, "config is null");
    this.blockSize = config.blockSize();
    this.watermarkBlocks = (int) (config.watermark() * config.numGpuBlocks());
    this.allocator =
        CpuGpuBlockAllocator.create(
            config.enablePrefixCaching(), config.numGpuBlocks(), config.numCpuBlocks());
    this.crossTables =
        new CrossBlockTables(allocator, config.blockSize(), config.enablePrefixCaching());
    LOG.log(
        System.Logger.Level.DEBUG,
        "v2 block manager: {0} device + {1} swap blocks of {2} tokens, watermark {3} blocks,"
            + " prefix caching {4}",
        config.numGpuBlocks(),
        config.numCpuBlocks(),
        blockSize,
        watermarkBlocks,
        config.enablePrefixCaching());
  }

  @Override
  public AllocStatus canAllocate(SequenceGroup group) {
    return allocStatus(numRequiredBlocks(group));
  }

  /** vLLM's rule: NEVER if the pool minus the watermark is too small, LATER if it is full now. */
  private AllocStatus allocStatus(int numRequired) {
    if (allocator.numTotalBlocks(Device.GPU) - numRequired < watermarkBlocks) {
      return AllocStatus.NEVER;
    }
    if (allocator.numFreeBlocks(Device.GPU) - numRequired >= watermarkBlocks) {
      return AllocStatus.OK;
    }
    return AllocStatus.LATER;
  }

  /** Blocks for each distinct waiting prompt plus the cross table, ignoring any cache hit. */
  private int numRequiredBlocks(SequenceGroup group) {
    int required = 0;
    for (Sequence prompt : distinctPrompts(waitingSequences(group))) {
      required += BlockTable.numRequiredBlocks(prompt.length(), blockSize);
    }
    if (group.isEncoderDecoder()) {
      required += BlockTable.numRequiredBlocks(group.encoderSequence().length(), blockSize);
    }
    return required;
  }

  private static List<Sequence> waitingSequences(SequenceGroup group) {
    List<Sequence> waiting = group.sequences(SequenceStatus.WAITING);
    if (waiting.isEmpty()) {
      throw new IllegalStateException(
          "request " + group.requestId() + " has no WAITING sequence to allocate blocks for");
    }
    return waiting;
  }

  /**
   * The first sequence of each distinct token content. Sequences of a new request share their
   * prompt; vLLM assumes they always do, but a request resumed after preemption may not.
   */
  private static List<Sequence> distinctPrompts(List<Sequence> seqs) {
    List<Sequence> distinct = new ArrayList<>();
    for (Sequence seq : seqs) {
      if (distinct.stream().noneMatch(other -> sameTokens(other, seq))) {
        distinct.add(seq);
      }
    }
    return distinct;
  }

  private static boolean sameTokens(Sequence a, Sequence b) {
    if (a.length() != b.length()) {
      return false;
    }
    for (int i = a.length() - 1; i >= 0; i--) {
      if (a.tokenAt(i) != b.tokenAt(i)) {
        return false;
      }
    }
    return true;
  }

  @Override
  public void allocate(SequenceGroup group) {
    String requestId = group.requestId();
    List<Sequence> waiting = waitingSequences(group);
    for (Sequence seq : waiting) {
      if (blockTables.containsKey(seq.id())) {
        throw new IllegalStateException(
            "sequence " + seq.id() + " of request " + requestId + " already has a block table");
      }
    }
    if (group.isEncoderDecoder() && crossTables.contains(requestId)) {
      throw new IllegalStateException(
          "request " + requestId + " already has a cross block table: free it first (freeCross)");
    }
    requireFree(Device.GPU, numRequiredBlocks(group), () -> "request " + requestId);

    long rootHash = rootHash(group);
    List<Sequence> prompts = distinctPrompts(waiting);
    for (Sequence seq : waiting) {
      Sequence prompt = prompts.stream().filter(p -> sameTokens(p, seq)).findFirst().orElseThrow();
      BlockTable table;
      if (prompt == seq) {
        table = BlockTable.forDecoder(allocator, blockSize, rootHash);
        table.allocate(seq);
      } else {
        table = blockTables.get(prompt.id()).fork();
      }
      blockTables.put(seq.id(), table);
    }
    if (group.isEncoderDecoder()) {
      crossTables.allocate(requestId, group.encoderSequence());
    }
  }

  /** The hash decoder chains start from: the encoder input's, so cross-attention is accounted. */
  private long rootHash(SequenceGroup group) {
    if (!allocator.cachesPrefixes() || !group.isEncoderDecoder()) {
      return ContentHash.DECODER_ONLY_ROOT;
    }
    return ContentHash.ofEncoderInput(group.encoderSequence());
  }

  /** Throws, naming {@code who} (built only then), unless numRequired blocks are free. */
  private void requireFree(Device device, int numRequired, Supplier<String> who) {
    int free = allocator.numFreeBlocks(device);
    if (numRequired > free) {
      throw new IllegalStateException(
          who.get()
              + " needs "
              + numRequired
              + " free blocks in the "
              + device
              + " pool but only "
              + free
              + " are free");
    }
  }

  @Override
  public boolean canAppendSlots(SequenceGroup group, int numLookaheadSlots) {
    requireLookahead(numLookaheadSlots);
    int touched = 0;
    for (Sequence seq : group.sequences(SequenceStatus.RUNNING)) {
      touched += numBlocksTouchedByNextAppend(tableIn(seq, Device.GPU), seq, numLookaheadSlots);
    }
    return touched <= allocator.numFreeBlocks(Device.GPU);
  }

  /**
   * vLLM's worst case for the next {@link #appendSlots}: for the tokens the sequence has beyond its
   * table, or for the one token it is about to get if it has none yet (so the answer does not
   * depend on whether the caller appends the sampled token before or after asking).
   */
  private static int numBlocksTouchedByNextAppend(
      BlockTable table, Sequence seq, int numLookaheadSlots) {
    int numNewTokens = Math.max(1, table.numUnseenTokens(seq));
    return table.numBlocksTouchedByAppend(numNewTokens, numLookaheadSlots);
  }

  @Override
  public List<BlockMapping> appendSlots(Sequence seq, int numLookaheadSlots) {
    requireLookahead(numLookaheadSlots);
    BlockTable table = tableIn(seq, Device.GPU);
    int needed = table.numBlocksNeededToAppend(table.numUnseenTokens(seq), numLookaheadSlots);
    requireFree(Device.GPU, needed, () -> "sequence " + seq.id());
    table.appendTokens(seq, numLookaheadSlots);
    return allocator.clearCopyOnWrites();
  }

  private static void requireLookahead(int numLookaheadSlots) {
    if (numLookaheadSlots < 0) {
      throw new IllegalArgumentException(
          "numLookaheadSlots=" + numLookaheadSlots + ": must be >= 0");
    }
  }

  @Override
  public void fork(Sequence parent, Sequence child) {
    BlockTable parentTable = table(parent);
    if (blockTables.containsKey(child.id())) {
      throw new IllegalStateException(
          "cannot fork sequence " + parent.id() + " into " + child.id() + ": it has a block table");
    }
    blockTables.put(child.id(), parentTable.fork());
  }

  @Override
  public AllocStatus canSwapIn(SequenceGroup group, int numLookaheadSlots) {
    requireLookahead(numLookaheadSlots);
    List<Sequence> swapped = group.sequences(SequenceStatus.SWAPPED);
    List<BlockTable> tables = tablesToSwap(group, swapped, Device.CPU, Device.GPU);
    int required = numBlocksToSwap(group, tables);
    // Room for the tokens the sequences will append once back, as vLLM counts it.
    for (Sequence seq : swapped) {
      required += numBlocksTouchedByNextAppend(blockTables.get(seq.id()), seq, numLookaheadSlots);
    }
    if (allocator.numTotalBlocks(Device.GPU) < required) {
      return AllocStatus.NEVER;
    }
    return allocator.numFreeBlocks(Device.GPU) - required >= watermarkBlocks
        ? AllocStatus.OK
        : AllocStatus.LATER;
  }

  @Override
  public List<BlockMapping> swapIn(SequenceGroup group) {
    return swap(group, group.sequences(SequenceStatus.SWAPPED), Device.CPU, Device.GPU);
  }

  @Override
  public boolean canSwapOut(SequenceGroup group) {
    List<BlockTable> tables =
        tablesToSwap(group, group.sequences(SequenceStatus.RUNNING), Device.GPU, Device.CPU);
    return numBlocksToSwap(group, tables) <= allocator.numFreeBlocks(Device.CPU);
  }

  @Override
  public List<BlockMapping> swapOut(SequenceGroup group) {
    return swap(group, group.sequences(SequenceStatus.RUNNING), Device.GPU, Device.CPU);
  }

  /**
   * Moves the sequences' tables and the group's cross table from one pool to the other.
   *
   * @return (source, copy) pool-local block pairs the backend must copy, each block once
   */
  private List<BlockMapping> swap(
      SequenceGroup group, List<Sequence> seqs, Device source, Device target) {
    List<BlockTable> tables = tablesToSwap(group, seqs, source, target);
    requireFree(target, numBlocksToSwap(group, tables), () -> "request " + group.requestId());
    Map<Integer, Integer> moved = new LinkedHashMap<>();
    for (BlockTable table : tables) {
      table.moveTo(target, moved);
    }
    if (group.isEncoderDecoder()) {
      crossTables.swap(group.requestId(), target, moved);
    }
    return allocator.toMappings(moved);
  }

  /** The sequences' tables, after checking that they and the cross table are in the source pool. */
  private List<BlockTable> tablesToSwap(
      SequenceGroup group, List<Sequence> seqs, Device source, Device target) {
    String requestId = group.requestId();
    if (seqs.isEmpty()) {
      throw new IllegalStateException(
          "request "
              + requestId
              + " has no "
              + (source == Device.GPU ? "RUNNING" : "SWAPPED")
              + " sequence to swap to the "
              + target
              + " pool");
    }
    List<BlockTable> tables = new ArrayList<>(seqs.size());
    for (Sequence seq : seqs) {
      BlockTable table = table(seq);
      if (table.device() != source) {
        throw new IllegalStateException(
            "sequence "
                + seq.id()
                + " of request "
                + requestId
                + " is "
                + seq.status()
                + " but its blocks are in the "
                + table.device()
                + " pool, not the "
                + source
                + " pool");
      }
      tables.add(table);
    }
    if (group.isEncoderDecoder() && crossTables.device(requestId) != source) {
      throw new IllegalStateException(
          "the cross block table of request "
              + requestId
              + " is in the "
              + crossTables.device(requestId)
              + " pool, not the "
              + source
              + " pool its sequences are swapped from");
    }
    return tables;
  }

  /** Distinct blocks of the tables (a shared block moves once) plus the cross table's. */
  private int numBlocksToSwap(SequenceGroup group, List<BlockTable> tables) {
    BitSet blocks = new BitSet(allocator.numBlocks());
    for (BlockTable table : tables) {
      for (int b = 0; b < table.numBlocks(); b++) {
        blocks.set(table.blockId(b));
      }
    }
    int required = blocks.cardinality();
    if (group.isEncoderDecoder()) {
      required += crossTables.numBlocksToSwap(group.requestId());
    }
    return required;
  }

  @Override
  public void free(Sequence seq) {
    table(seq);
    blockTables.remove(seq.id()).free();
  }

  @Override
  public void freeCross(SequenceGroup group) {
    if (group.isEncoderDecoder()) {
      crossTables.free(group.requestId());
    }
  }

  @Override
  public void reset() {
    for (BlockTable table : blockTables.values()) {
      table.free();
    }
    blockTables.clear();
    crossTables.freeAll();
    allocator.clearCopyOnWrites();
  }

  @Override
  public int[] getBlockTable(Sequence seq) {
    return table(seq).physicalBlockIds();
  }

  @Override
  public int[] getCrossBlockTable(SequenceGroup group) {
    if (!group.isEncoderDecoder()) {
      throw new IllegalArgumentException(
          "request " + group.requestId() + " is decoder-only: it has no cross block table");
    }
    return crossTables.physicalBlockIds(group.requestId());
  }

  private BlockTable table(Sequence seq) {
    BlockTable table = blockTables.get(requireNonNull(seq, "seq is null").id());
    if (table == null) {
      throw new IllegalArgumentException(
          "sequence "
              + seq.id()
              + " has no block table: it was never allocated, or was freed already");
    }
    return table;
  }

  private BlockTable tableIn(Sequence seq, Device device) {
    BlockTable table = table(seq);
    if (table.device() != device) {
      throw new IllegalStateException(
          "sequence "
              + seq.id()
              + " ("
              + seq.status()
              + ") has its blocks in the "
              + table.device()
              + " pool, not the "
              + device
              + " pool");
    }
    return table;
  }

  @Override
  public int numFreeGpuBlocks() {
    return allocator.numFreeBlocks(Device.GPU);
  }

  @Override
  public int numFreeCpuBlocks() {
    return allocator.numFreeBlocks(Device.CPU);
  }

  @Override
  public void accessAllBlocksInSeq(Sequence seq, long accessTimeNanos) {
    table(seq).recordAccess(accessTimeNanos);
  }

  @Override
  public void markBlocksAsComputed(SequenceGroup group, int tokenChunkSize) {
    for (Sequence seq : group.sequences()) {
      BlockTable table = blockTables.get(seq.id());
      if (table != null) {
        table.markComputed(tokenChunkSize);
      }
    }
  }

  @Override
  public int[] getCommonComputedBlockIds(List<Sequence> seqs) {
    int[] common = null;
    for (Sequence seq : seqs) {
      int[] computed = table(seq).computedBlockIdsExceptLast();
      common = common == null ? computed : Arrays.copyOf(common, commonPrefix(common, computed));
    }
    return common == null ? new int[0] : common;
  }

  private static int commonPrefix(int[] a, int[] b) {
    int n = Math.min(a.length, b.length);
    int i = 0;
    while (i < n && a[i] == b[i]) {
      i++;
    }
    return i;
  }

  @Override
  public double prefixCacheHitRate(Device device) {
    return allocator.hitRate(requireNonNull(device, "device is null"));
  }

  @Override
  public void checkInvariants() {
    int[] expectedRefCounts = new int[allocator.numBlocks()];
    for (Map.Entry<Long, BlockTable> entry : blockTables.entrySet()) {
      BlockTable table = entry.getValue();
      table.checkConsistency(() -> "sequence " + entry.getKey());
      for (int b = 0; b < table.numBlocks(); b++) {
        expectedRefCounts[table.blockId(b)]++;
      }
    }
    crossTables.countReferences(expectedRefCounts);
    allocator.checkInvariants(expectedRefCounts);
  }
}
