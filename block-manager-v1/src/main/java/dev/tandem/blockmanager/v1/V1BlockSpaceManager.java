package dev.tandem.blockmanager.v1;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.block.AllocStatus;
import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockMapping;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.block.Device;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.api.sequence.SequenceStatus;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * vLLM's block space manager v1 with cross-attention block tables: each decoder sequence's table is
 * a list of reference-counted physical blocks; an encoder/decoder group also has one cross table
 * keyed by its request id, allocated with the group, shared by its sequences (forks included),
 * moved with the group on every swap and released by {@link #freeCross}.
 *
 * <p>Decisions where vLLM left room:
 *
 * <ul>
 *   <li>An empty encoder input gets a valid empty cross table (0 blocks): {@link
 *       #getCrossBlockTable} returns an empty array and {@link #freeCross} removes it.
 *   <li>{@link #freeCross} of a decoder-only group does nothing (it never has a cross table); of an
 *       encoder/decoder group without one it throws (a double free).
 *   <li>Blocks needed at allocation cover each waiting sequence's whole length, which is its prompt
 *       for a new request and prompt + output for one preempted by recompute.
 *   <li>{@link #appendSlots} gives slots to every token up to length + lookahead (vLLM's v1 took
 *       exactly one token and no lookahead) and copies on write every shared block among them.
 *   <li>Prefix caching files only complete blocks by content hash; a partial block is still being
 *       written, so sharing it by hash would let one holder's writes reach the others.
 *   <li>Prefix caching is not supported for encoder/decoder groups ({@link
 *       UnsupportedOperationException} from {@link #canAllocate} and {@link #allocate}), as in
 *       vLLM; decoder-only groups share blocks of identical prefixes.
 * </ul>
 */
public final class V1BlockSpaceManager implements BlockSpaceManager {

  private static final System.Logger LOG = System.getLogger(V1BlockSpaceManager.class.getName());

  private final int blockSize;
  private final int watermarkBlocks;
  private final boolean prefixCaching;
  private final BlockAllocator gpu;
  private final BlockAllocator cpu;
  private final Map<Long, BlockTable> tables = new HashMap<>();
  private final Map<String, BlockTable> crossTables = new HashMap<>();

  public V1BlockSpaceManager(BlockManagerConfig config) {
    requireNonNull(config, "config is null");
    this.blockSize = config.blockSize();
    this.watermarkBlocks = (int) (config.watermark() * config.numGpuBlocks());
    this.prefixCaching = config.enablePrefixCaching();
    if (prefixCaching) {
      gpu = new CachedBlockAllocator(Device.GPU, config.numGpuBlocks());
      cpu = new CachedBlockAllocator(Device.CPU, config.numCpuBlocks());
    } else {
      gpu = new UncachedBlockAllocator(Device.GPU, config.numGpuBlocks());
      cpu = new UncachedBlockAllocator(Device.CPU, config.numCpuBlocks());
    }
    LOG.log(System.Logger.Level.DEBUG, "block manager v1: {0}", config);
  }

  // ---- allocation ------------------------------------------------------------------------------

  @Override
  public AllocStatus canAllocate(SequenceGroup group) {
    requireNonNull(group, "group is null");
    checkPrefixCachingSupported(group);
    Sequence seq = waitingSequences(group).getFirst();
    int needed = numBlocks(seq.length()) + numCrossBlocks(group);
    // The watermark keeps a few blocks free so that running sequences can grow without preemption.
    if (gpu.numTotalBlocks() - needed < watermarkBlocks) {
      return AllocStatus.NEVER;
    }
    return gpu.numFreeBlocks() - needed >= watermarkBlocks ? AllocStatus.OK : AllocStatus.LATER;
  }

  @Override
  public void allocate(SequenceGroup group) {
    requireNonNull(group, "group is null");
    checkPrefixCachingSupported(group);
    List<Sequence> waiting = waitingSequences(group);
    Sequence prompt = waiting.getFirst();
    for (Sequence seq : waiting) {
      if (tables.containsKey(seq.id())) {
        throw new IllegalStateException(
            "sequence " + seq.id() + " of request " + group.requestId() + " already has a table");
      }
      if (seq.length() != prompt.length()) {
        throw new IllegalArgumentException(
            "request "
                + group.requestId()
                + ": waiting sequences "
                + prompt.id()
                + " and "
                + seq.id()
                + " differ in length; all waiting sequences of a group share one prompt");
      }
    }
    if (group.isEncoderDecoder() && crossTables.containsKey(group.requestId())) {
      throw new IllegalStateException(
          "request "
              + group.requestId()
              + " already has a cross block table: freeCross it before allocating again");
    }
    int numPromptBlocks = numBlocks(prompt.length());
    int numCrossBlocks = numCrossBlocks(group);
    requireFree(gpu, numPromptBlocks + numCrossBlocks, () -> "request " + group.requestId());

    List<PhysicalBlock> promptBlocks = new ArrayList<>(numPromptBlocks);
    // Only complete blocks are filed by content: a partial block is still written to, so its
    // content (and hash) would change under anyone sharing it.
    int numFullBlocks = prefixCaching ? prompt.length() / blockSize : 0;
    long[] hashes = ContentHash.ofBlocks(prompt, blockSize, numFullBlocks);
    for (int i = 0; i < numPromptBlocks; i++) {
      promptBlocks.add(
          i < numFullBlocks ? gpu.allocate(hashes[i], (i + 1) * blockSize) : gpu.allocate());
    }
    // The waiting sequences share the prompt's blocks: one reference per table.
    for (int s = 0; s < waiting.size(); s++) {
      if (s > 0) {
        promptBlocks.forEach(PhysicalBlock::incrementRefCount);
      }
      tables.put(waiting.get(s).id(), new BlockTable(Device.GPU, new ArrayList<>(promptBlocks)));
    }
    if (group.isEncoderDecoder()) {
      List<PhysicalBlock> crossBlocks = new ArrayList<>(numCrossBlocks);
      for (int i = 0; i < numCrossBlocks; i++) {
        crossBlocks.add(gpu.allocate());
      }
      crossTables.put(group.requestId(), new BlockTable(Device.GPU, crossBlocks));
    }
  }

  // ---- decoding --------------------------------------------------------------------------------

  @Override
  public boolean canAppendSlots(SequenceGroup group, int numLookaheadSlots) {
    requireNonNull(group, "group is null");
    checkLookahead(numLookaheadSlots);
    int needed = 0;
    for (Sequence seq : group.sequences(SequenceStatus.RUNNING)) {
      needed += numBlocksToAppend(seq, requireGpuTable(seq), numLookaheadSlots);
    }
    return needed <= gpu.numFreeBlocks();
  }

  @Override
  public List<BlockMapping> appendSlots(Sequence seq, int numLookaheadSlots) {
    requireNonNull(seq, "seq is null");
    checkLookahead(numLookaheadSlots);
    BlockTable table = requireGpuTable(seq);
    requireFree(
        gpu,
        numBlocksToAppend(seq, table, numLookaheadSlots),
        () -> "sequence " + seq.id() + " append");
    int length = seq.length();
    int target = numBlocks(length + numLookaheadSlots);
    List<BlockMapping> copies = List.of();
    for (int i = firstWrittenBlock(length); i < Math.min(table.size(), target); i++) {
      PhysicalBlock shared = table.get(i);
      if (needsCopyOnWrite(shared)) {
        PhysicalBlock copy = allocateDecoderBlock(seq, i);
        table.set(i, copy);
        gpu.free(shared);
        if (copies.isEmpty()) {
          copies = new ArrayList<>(1);
        }
        copies.add(new BlockMapping(shared.blockNumber(), copy.blockNumber()));
      }
    }
    while (table.size() < target) {
      table.add(allocateDecoderBlock(seq, table.size()));
    }
    if (prefixCaching && length > 0 && length % blockSize == 0) {
      // The newest token completed its block: file it under its content hash for reuse.
      int full = length / blockSize - 1;
      PhysicalBlock block = table.get(full);
      if (block.refCount() == 1) {
        table.set(
            full,
            gpu.promote(block, ContentHash.ofBlock(seq, blockSize, full), (full + 1) * blockSize));
      }
    }
    return copies;
  }

  @Override
  public void fork(Sequence parent, Sequence child) {
    requireNonNull(parent, "parent is null");
    requireNonNull(child, "child is null");
    BlockTable source = requireGpuTable(parent);
    if (tables.containsKey(child.id())) {
      throw new IllegalStateException(
          "cannot fork sequence " + parent.id() + " into " + child.id() + ": it has a table");
    }
    BlockTable copy = source.copy();
    copy.blocks().forEach(PhysicalBlock::incrementRefCount);
    tables.put(child.id(), copy);
  }

  /** Blocks appending to the sequence takes from the pool: new ones plus copies on write. */
  private int numBlocksToAppend(Sequence seq, BlockTable table, int numLookaheadSlots) {
    int target = numBlocks(seq.length() + numLookaheadSlots);
    int needed = Math.max(0, target - table.size());
    for (int i = firstWrittenBlock(seq.length()); i < Math.min(table.size(), target); i++) {
      if (needsCopyOnWrite(table.get(i))) {
        needed++;
      }
    }
    return needed;
  }

  /** The block the newest token (at length − 1) is written to. */
  private int firstWrittenBlock(int length) {
    return Math.max(0, length - 1) / blockSize;
  }

  /**
   * A block about to be written must be copied first when another table holds it too, except a
   * block filed by content (prefix caching): it is complete, so the token "written" is already
   * there, and it is meant to be shared.
   */
  private static boolean needsCopyOnWrite(PhysicalBlock block) {
    return block.refCount() > 1 && !block.isContentHashed();
  }

  private PhysicalBlock allocateDecoderBlock(Sequence seq, int index) {
    if (prefixCaching && (index + 1) * blockSize <= seq.length()) {
      return gpu.allocate(ContentHash.ofBlock(seq, blockSize, index), (index + 1) * blockSize);
    }
    return gpu.allocate();
  }

  // ---- swapping --------------------------------------------------------------------------------

  @Override
  public AllocStatus canSwapIn(SequenceGroup group, int numLookaheadSlots) {
    requireNonNull(group, "group is null");
    checkLookahead(numLookaheadSlots);
    List<Sequence> swapped = swappedSequences(group);
    int numBlocks = TableMoves.distinctBlocks(groupTables(group, swapped, Device.CPU));
    // Conservatively, each sequence grows right after the swap-in: its next token plus lookahead.
    int needed = numBlocks + swapped.size() * numBlocks(1 + numLookaheadSlots);
    if (gpu.numTotalBlocks() < needed) {
      return AllocStatus.NEVER;
    }
    return gpu.numFreeBlocks() - needed >= watermarkBlocks ? AllocStatus.OK : AllocStatus.LATER;
  }

  @Override
  public List<BlockMapping> swapIn(SequenceGroup group) {
    requireNonNull(group, "group is null");
    return move(group, groupTables(group, swappedSequences(group), Device.CPU), cpu, gpu);
  }

  @Override
  public boolean canSwapOut(SequenceGroup group) {
    requireNonNull(group, "group is null");
    List<BlockTable> groupTables = groupTables(group, runningSequences(group), Device.GPU);
    return TableMoves.distinctBlocks(groupTables) <= cpu.numFreeBlocks();
  }

  @Override
  public List<BlockMapping> swapOut(SequenceGroup group) {
    requireNonNull(group, "group is null");
    return move(group, groupTables(group, runningSequences(group), Device.GPU), gpu, cpu);
  }

  /**
   * The tables of the given sequences and the group's cross table, all checked to be on {@code
   * from}, decoder tables first.
   */
  private List<BlockTable> groupTables(SequenceGroup group, List<Sequence> seqs, Device from) {
    List<BlockTable> result = new ArrayList<>(seqs.size() + 1);
    for (Sequence seq : seqs) {
      BlockTable table = requireTable(seq);
      if (table.device() != from) {
        throw new IllegalStateException(
            "sequence "
                + seq.id()
                + " of request "
                + group.requestId()
                + " is "
                + seq.status()
                + " but its blocks are on the "
                + table.device()
                + ", not the "
                + from);
      }
      result.add(table);
    }
    if (group.isEncoderDecoder()) {
      BlockTable cross = crossTables.get(group.requestId());
      if (cross == null) {
        throw new IllegalStateException(
            "request " + group.requestId() + " has no cross block table to swap (freed already?)");
      }
      if (cross.device() != from) {
        throw new IllegalStateException(
            "the cross block table of request "
                + group.requestId()
                + " is on the "
                + cross.device()
                + ", not the "
                + from);
      }
      result.add(cross);
    }
    return result;
  }

  /** Moves the group's tables to {@code to}'s pool: see {@link TableMoves#move}. */
  private List<BlockMapping> move(
      SequenceGroup group, List<BlockTable> groupTables, BlockAllocator from, BlockAllocator to) {
    requireFree(
        to, TableMoves.distinctBlocks(groupTables), () -> "swapping request " + group.requestId());
    return TableMoves.move(groupTables, from, to);
  }

  // ---- freeing ---------------------------------------------------------------------------------

  @Override
  public void free(Sequence seq) {
    requireNonNull(seq, "seq is null");
    BlockTable table = tables.remove(seq.id());
    if (table == null) {
      throw noTable(seq);
    }
    freeTable(table);
  }

  @Override
  public void freeCross(SequenceGroup group) {
    requireNonNull(group, "group is null");
    if (!group.isEncoderDecoder()) {
      return;
    }
    BlockTable table = crossTables.remove(group.requestId());
    if (table == null) {
      throw new IllegalArgumentException(
          "request "
              + group.requestId()
              + " has no cross block table: never allocated, or freed already");
    }
    freeTable(table);
  }

  @Override
  public void reset() {
    tables.values().forEach(this::freeTable);
    tables.clear();
    crossTables.values().forEach(this::freeTable);
    crossTables.clear();
  }

  private void freeTable(BlockTable table) {
    BlockAllocator allocator = allocator(table.device());
    for (PhysicalBlock block : table.blocks()) {
      allocator.free(block);
    }
  }

  // ---- queries ---------------------------------------------------------------------------------

  @Override
  public int[] getBlockTable(Sequence seq) {
    requireNonNull(seq, "seq is null");
    return requireTable(seq).blockNumbers();
  }

  @Override
  public int[] getCrossBlockTable(SequenceGroup group) {
    requireNonNull(group, "group is null");
    BlockTable table = crossTables.get(group.requestId());
    if (table == null) {
      throw new IllegalArgumentException(
          "request "
              + group.requestId()
              + " has no cross block table"
              + (group.isEncoderDecoder()
                  ? ": never allocated, or freed already"
                  : ": it is decoder-only"));
    }
    return table.blockNumbers();
  }

  @Override
  public int numFreeGpuBlocks() {
    return gpu.numFreeBlocks();
  }

  @Override
  public int numFreeCpuBlocks() {
    return cpu.numFreeBlocks();
  }

  // ---- prefix caching hooks --------------------------------------------------------------------

  @Override
  public void accessAllBlocksInSeq(Sequence seq, long accessTimeNanos) {
    requireNonNull(seq, "seq is null");
    BlockTable table = requireTable(seq);
    if (prefixCaching) {
      for (PhysicalBlock block : table.blocks()) {
        block.setLastAccessedNanos(accessTimeNanos);
      }
    }
  }

  @Override
  public void markBlocksAsComputed(SequenceGroup group, int tokenChunkSize) {
    requireNonNull(group, "group is null");
    if (tokenChunkSize < 0) {
      throw new IllegalArgumentException("tokenChunkSize=" + tokenChunkSize + ": must be >= 0");
    }
    if (!prefixCaching) {
      return;
    }
    for (Sequence seq : group.sequences()) {
      BlockTable table = tables.get(seq.id());
      if (seq.isFinished() || table == null || table.device() != Device.GPU) {
        continue;
      }
      int computed = Math.min(seq.length(), table.numComputedTokens() + tokenChunkSize);
      table.setNumComputedTokens(computed);
      for (int i = 0; i < Math.min(table.size(), computed / blockSize); i++) {
        table.get(i).setComputed(true);
      }
    }
  }

  @Override
  public int[] getCommonComputedBlockIds(List<Sequence> seqs) {
    requireNonNull(seqs, "seqs is null");
    int[] common = null;
    for (Sequence seq : seqs) {
      int[] computed = computedPrefix(requireTable(seq));
      if (computed.length == 0) {
        continue; // as vLLM: sequences without computed blocks do not shorten the common prefix
      }
      common = common == null ? computed : commonPrefix(common, computed);
    }
    return !prefixCaching || common == null ? new int[0] : common;
  }

  /** Block numbers of the table's leading computed blocks, never its last block. */
  private static int[] computedPrefix(BlockTable table) {
    // The last block is left out so that a fully cached prompt still computes one token.
    int n = 0;
    while (n < table.size() - 1 && table.get(n).isComputed()) {
      n++;
    }
    return Arrays.copyOf(table.blockNumbers(), n);
  }

  private static int[] commonPrefix(int[] a, int[] b) {
    int n = Arrays.mismatch(a, b);
    return n < 0 ? a : Arrays.copyOf(a, n);
  }

  @Override
  public double prefixCacheHitRate(Device device) {
    return allocator(requireNonNull(device, "device is null")).hitRate();
  }

  // ---- audit -----------------------------------------------------------------------------------

  @Override
  public void checkInvariants() {
    InvariantAudit.check(tables, crossTables, gpu, cpu);
  }

  // ---- helpers ---------------------------------------------------------------------------------

  private int numBlocks(int numTokens) {
    return (numTokens + blockSize - 1) / blockSize;
  }

  private int numCrossBlocks(SequenceGroup group) {
    return group.isEncoderDecoder() ? numBlocks(group.encoderSequence().length()) : 0;
  }

  private BlockAllocator allocator(Device device) {
    return device == Device.GPU ? gpu : cpu;
  }

  private void checkPrefixCachingSupported(SequenceGroup group) {
    if (prefixCaching && group.isEncoderDecoder()) {
      throw new UnsupportedOperationException(
          "request "
              + group.requestId()
              + ": block manager v1 does not support prefix caching for encoder/decoder"
              + " requests; disable prefix caching or use block manager v2");
    }
  }

  private static void checkLookahead(int numLookaheadSlots) {
    if (numLookaheadSlots < 0) {
      throw new IllegalArgumentException(
          "numLookaheadSlots=" + numLookaheadSlots + ": must be >= 0");
    }
  }

  private static void requireFree(
      BlockAllocator allocator, int needed, java.util.function.Supplier<String> what) {
    if (allocator.numFreeBlocks() < needed) {
      throw new IllegalStateException(
          what.get()
              + " needs "
              + needed
              + " "
              + allocator.device()
              + " blocks but only "
              + allocator.numFreeBlocks()
              + " are free; ask canAllocate/canAppendSlots/canSwapIn/canSwapOut first");
    }
  }

  private static List<Sequence> waitingSequences(SequenceGroup group) {
    return sequencesIn(group, SequenceStatus.WAITING, "allocate");
  }

  private static List<Sequence> runningSequences(SequenceGroup group) {
    return sequencesIn(group, SequenceStatus.RUNNING, "swap out");
  }

  private static List<Sequence> swappedSequences(SequenceGroup group) {
    return sequencesIn(group, SequenceStatus.SWAPPED, "swap in");
  }

  private static List<Sequence> sequencesIn(
      SequenceGroup group, SequenceStatus status, String operation) {
    List<Sequence> seqs = group.sequences(status);
    if (seqs.isEmpty()) {
      throw new IllegalStateException(
          "cannot "
              + operation
              + " request "
              + group.requestId()
              + ": it has no "
              + status
              + " sequence");
    }
    return seqs;
  }

  private BlockTable requireTable(Sequence seq) {
    BlockTable table = tables.get(seq.id());
    if (table == null) {
      throw noTable(seq);
    }
    return table;
  }

  private BlockTable requireGpuTable(Sequence seq) {
    BlockTable table = requireTable(seq);
    if (table.device() != Device.GPU) {
      throw new IllegalStateException(
          "sequence " + seq.id() + " is swapped out: its blocks are on the " + table.device());
    }
    return table;
  }

  private static IllegalArgumentException noTable(Sequence seq) {
    return new IllegalArgumentException(
        "sequence " + seq.id() + " has no block table: never allocated, or freed already");
  }
}
