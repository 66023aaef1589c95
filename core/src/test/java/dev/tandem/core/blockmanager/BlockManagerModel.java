package dev.tandem.core.blockmanager;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.block.AllocStatus;
import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockMapping;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.api.sequence.SequenceStatus;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * A scheduler-like driver of one block manager and a simple model of what the manager must hold:
 * which requests are running (tables on the GPU), swapped (on the CPU) or waiting (no tables), how
 * many blocks each table has and how many tokens have slots. After every operation {@link
 * ModelVerifier} checks the manager against the model; the operations themselves check what they
 * return (copy-on-write pairs, swap mappings, canAllocate against the watermark rule). Draining all
 * requests must give every block back.
 */
final class BlockManagerModel {

  private static final int BLOCK_SIZE = 4;
  private static final int NUM_GPU_BLOCKS = 48;
  private static final int NUM_CPU_BLOCKS = 24;
  private static final double WATERMARK = 0.05;
  private static final int MAX_REQUESTS = 12;
  private static final int MAX_SEQS_PER_REQUEST = 4;
  private static final int DRAIN_EVERY = 20_000;

  /** What happened, counted so that a run that never exercised something fails. */
  enum Event {
    ALLOCATE,
    REALLOCATE_AFTER_RECOMPUTE,
    APPEND,
    APPEND_WITH_LOOKAHEAD,
    COPY_ON_WRITE,
    FORK,
    SWAP_OUT,
    SWAP_IN,
    RECOMPUTE,
    FINISH_SEQUENCE,
    FINISH_REQUEST,
    EMPTY_ENCODER_INPUT,
    ALLOCATE_LATER_OR_NEVER
  }

  enum Phase {
    WAITING,
    RUNNING,
    SWAPPED
  }

  static final class Request {
    final SequenceGroup group;
    Phase phase = Phase.WAITING;

    Request(SequenceGroup group) {
      this.group = group;
    }

    List<Sequence> live() {
      List<Sequence> live = new ArrayList<>();
      for (Sequence seq : group.sequences()) {
        if (!seq.isFinished()) {
          live.add(seq);
        }
      }
      return live;
    }
  }

  private final BlockSpaceManager manager;
  private final ModelVerifier verifier;
  private final boolean prefixCaching;
  private final boolean encoderDecoderAllowed;
  private final Random random;
  private final int watermarkBlocks = (int) (WATERMARK * NUM_GPU_BLOCKS);
  // Prompts are prefixes of a few fixed token strings, so that prefix caching finds shared blocks.
  private final int[][] templates = new int[4][];
  private final List<Request> requests = new ArrayList<>();
  private final Map<Long, Integer> expectedTableLength = new HashMap<>();
  // Tokens of each sequence that have a slot (a place in its blocks): its length when it was last
  // allocated or given slots. Tables sharing a block must agree on the tokens both have slots for.
  private final Map<Long, Integer> slotted = new HashMap<>();
  private final Map<Event, Integer> events = new java.util.EnumMap<>(Event.class);
  private long nextSeqId;
  private long nextRequestId;
  private long clock;
  private int operationCount;
  private String lastOperation = "none";

  BlockManagerModel(String name, boolean prefixCaching, long seed) {
    BlockManagerConfig config =
        new BlockManagerConfig(
            BLOCK_SIZE, NUM_GPU_BLOCKS, NUM_CPU_BLOCKS, WATERMARK, prefixCaching);
    this.manager = BlockManagers.create(name, config);
    this.prefixCaching = prefixCaching;
    this.verifier =
        new ModelVerifier(manager, prefixCaching, BLOCK_SIZE, NUM_GPU_BLOCKS, NUM_CPU_BLOCKS);
    this.random = new Random(seed);
    for (int t = 0; t < templates.length; t++) {
      templates[t] = random.ints(64, 0, 1000).toArray();
    }
    this.encoderDecoderAllowed = supportsEncoderDecoder(BlockManagers.create(name, config));
  }

  /**
   * Whether the manager takes encoder/decoder requests in this configuration: a manager without
   * prefix caching for them says so with {@link UnsupportedOperationException}.
   */
  private static boolean supportsEncoderDecoder(BlockSpaceManager probe) {
    try {
      probe.canAllocate(TestGroups.encoderDecoder("probe", 0, 1, 1).group());
      return true;
    } catch (UnsupportedOperationException e) {
      return false;
    }
  }

  int operationCount() {
    return operationCount;
  }

  String lastOperation() {
    return lastOperation;
  }

  /** Whether this run admits encoder/decoder requests (not with v1's prefix caching). */
  boolean encoderDecoderAllowed() {
    return encoderDecoderAllowed;
  }

  /** The manager's prefix cache hit rate on the GPU pool. */
  double gpuPrefixCacheHitRate() {
    return manager.prefixCacheHitRate(dev.tandem.api.block.Device.GPU);
  }

  /** How often each event happened so far. */
  Map<Event, Integer> events() {
    return events;
  }

  private void count(Event event) {
    events.merge(event, 1, Integer::sum);
  }

  void run(int operations) {
    verifier.verify(requests, expectedTableLength, slotted);
    while (operationCount < operations) {
      operationCount++;
      step();
      verifier.verify(requests, expectedTableLength, slotted);
      if (operationCount % DRAIN_EVERY == 0) {
        lastOperation = "drain";
        drain();
      }
    }
    lastOperation = "final drain";
    drain();
  }

  private void step() {
    int dice = random.nextInt(100);
    if (dice == 0 && random.nextInt(50) == 0) {
      reset();
    } else if (dice < 14) {
      admit();
    } else if (dice < 18) {
      reallocate();
    } else if (dice < 58) {
      decodeStep();
    } else if (dice < 64) {
      fork();
    } else if (dice < 68) {
      finishSequence();
    } else if (dice < 78) {
      finishRequest();
    } else if (dice < 84) {
      swapOut();
    } else if (dice < 92) {
      swapIn();
    } else if (dice < 95) {
      recompute();
    } else {
      prefixCachingHooks();
    }
  }

  // ---- operations ------------------------------------------------------------------------------

  private void admit() {
    lastOperation = "admit";
    if (requests.size() >= MAX_REQUESTS) {
      return;
    }
    int[] template = templates[random.nextInt(templates.length)];
    int promptLength = 1 + random.nextInt(3 * BLOCK_SIZE + 3);
    int[] prompt = Arrays.copyOf(template, promptLength);
    int numSeqs = random.nextInt(10) < 7 ? 1 : 2 + random.nextInt(2);
    List<Sequence> seqs = new ArrayList<>();
    for (int s = 0; s < numSeqs; s++) {
      seqs.add(new Sequence(nextSeqId++, prompt));
    }
    Sequence encoder = null;
    if (encoderDecoderAllowed && random.nextBoolean()) {
      int encoderLength = random.nextInt(10) == 0 ? 0 : 1 + random.nextInt(3 * BLOCK_SIZE);
      encoder = new Sequence(nextSeqId++, random.ints(encoderLength, 0, 1000).toArray());
    }
    Request request =
        new Request(TestGroups.group("req-" + nextRequestId++, encoder, List.copyOf(seqs)));
    lastOperation = "admit " + request.group.requestId();
    if (tryAllocate(request)) {
      requests.add(request);
    }
  }

  private void reallocate() {
    Request request = pick(Phase.WAITING);
    if (request != null) {
      lastOperation = "reallocate " + request.group.requestId();
      tryAllocate(request);
    }
  }

  private boolean tryAllocate(Request request) {
    SequenceGroup group = request.group;
    AllocStatus status = manager.canAllocate(group);
    if (!prefixCaching) {
      Sequence first = group.sequences(SequenceStatus.WAITING).getFirst();
      int needed = blocks(first.length()) + crossBlocks(group);
      AllocStatus expected =
          NUM_GPU_BLOCKS - needed < watermarkBlocks
              ? AllocStatus.NEVER
              : manager.numFreeGpuBlocks() - needed >= watermarkBlocks
                  ? AllocStatus.OK
                  : AllocStatus.LATER;
      assertEquals(expected, status, () -> "canAllocate of " + group.requestId());
    }
    if (status != AllocStatus.OK) {
      count(Event.ALLOCATE_LATER_OR_NEVER);
      return false;
    }
    manager.allocate(group);
    count(
        request.phase == Phase.WAITING && requests.contains(request)
            ? Event.REALLOCATE_AFTER_RECOMPUTE
            : Event.ALLOCATE);
    if (group.isEncoderDecoder() && group.encoderSequence().length() == 0) {
      count(Event.EMPTY_ENCODER_INPUT);
    }
    List<Sequence> waiting = group.sequences(SequenceStatus.WAITING);
    int[] shared = manager.getBlockTable(waiting.getFirst());
    for (Sequence seq : waiting) {
      assertArrayEquals(shared, manager.getBlockTable(seq), "waiting sequences share the prompt");
      expectedTableLength.put(seq.id(), blocks(seq.length()));
      slotted.put(seq.id(), seq.length());
      seq.setStatus(SequenceStatus.RUNNING);
      // The prefill produced the first new token; its slot comes with the next decode step.
      seq.appendToken(random.nextInt(3), 0);
    }
    request.phase = Phase.RUNNING;
    return true;
  }

  /** One decode step of a running request: slots for every running sequence, then new tokens. */
  private void decodeStep() {
    Request request = pick(Phase.RUNNING);
    if (request == null) {
      return;
    }
    lastOperation = "decode " + request.group.requestId();
    int lookahead = random.nextInt(5) == 0 ? 1 + random.nextInt(3) : 0;
    if (!manager.canAppendSlots(request.group, lookahead)) {
      preempt(request);
      return;
    }
    for (Sequence seq : request.group.sequences(SequenceStatus.RUNNING)) {
      int[] before = manager.getBlockTable(seq);
      List<BlockMapping> copies = manager.appendSlots(seq, lookahead);
      count(lookahead == 0 ? Event.APPEND : Event.APPEND_WITH_LOOKAHEAD);
      if (!copies.isEmpty()) {
        count(Event.COPY_ON_WRITE);
      }
      int[] after = manager.getBlockTable(seq);
      int expected = Math.max(expectedTableLength.get(seq.id()), blocks(seq.length() + lookahead));
      expectedTableLength.put(seq.id(), expected);
      slotted.put(seq.id(), seq.length());
      assertEquals(expected, after.length, () -> "table length of sequence " + seq.id());
      checkCopiesOnWrite(before, after, copies);
    }
    for (Sequence seq : request.group.sequences(SequenceStatus.RUNNING)) {
      seq.appendToken(random.nextInt(3), 0);
    }
  }

  /** Every copy moves a block of the old table to a new block at the same position. */
  private void checkCopiesOnWrite(int[] before, int[] after, List<BlockMapping> copies) {
    Set<Integer> copiedPositions = new HashSet<>();
    for (BlockMapping copy : copies) {
      assertNotEquals(copy.src(), copy.dst(), "a block copied onto itself");
      int position = -1;
      for (int i = 0; i < before.length; i++) {
        // With prefix caching, the copy may have been completed and then replaced by an identical
        // cached block in the same call (vLLM's v2 does so): the source must still be gone.
        boolean replaced = after[i] == copy.dst() || (prefixCaching && after[i] != copy.src());
        if (before[i] == copy.src() && replaced) {
          position = i;
        }
      }
      assertTrue(position >= 0, "copy " + copy + " does not replace a block of the table");
      assertTrue(copiedPositions.add(position), "position " + position + " copied twice");
    }
    if (!prefixCaching) {
      // Without prefix caching, a block changes only by copy-on-write.
      for (int i = 0; i < before.length; i++) {
        assertTrue(
            before[i] == after[i] || copiedPositions.contains(i), "block " + i + " replaced");
      }
    }
  }

  private void preempt(Request request) {
    if (request.live().size() > 1 && manager.canSwapOut(request.group)) {
      swapOut(request);
    } else if (request.live().size() == 1) {
      recompute(request);
    }
  }

  private void fork() {
    Request request = pick(Phase.RUNNING);
    if (request == null || request.live().size() >= MAX_SEQS_PER_REQUEST) {
      return;
    }
    List<Sequence> running = request.group.sequences(SequenceStatus.RUNNING);
    Sequence parent = running.get(random.nextInt(running.size()));
    Sequence child = parent.fork(nextSeqId++);
    lastOperation = "fork " + parent.id() + " into " + child.id();
    int gpuFree = manager.numFreeGpuBlocks();
    request.group.addSequence(child);
    manager.fork(parent, child);
    count(Event.FORK);
    assertArrayEquals(manager.getBlockTable(parent), manager.getBlockTable(child));
    assertEquals(gpuFree, manager.numFreeGpuBlocks(), "a fork allocates nothing");
    expectedTableLength.put(child.id(), expectedTableLength.get(parent.id()));
    slotted.put(child.id(), slotted.get(parent.id()));
  }

  private void finishSequence() {
    Request request = pick(Phase.RUNNING);
    if (request == null || request.live().size() < 2) {
      return;
    }
    List<Sequence> running = request.group.sequences(SequenceStatus.RUNNING);
    Sequence seq = running.get(random.nextInt(running.size()));
    lastOperation = "finish sequence " + seq.id();
    count(Event.FINISH_SEQUENCE);
    seq.setStatus(SequenceStatus.FINISHED_STOPPED);
    freeSequence(seq);
    request.group.removeSequence(seq);
  }

  private void finishRequest() {
    if (requests.isEmpty()) {
      return;
    }
    Request request = requests.get(random.nextInt(requests.size()));
    lastOperation = "finish " + request.group.requestId() + " (" + request.phase + ")";
    count(Event.FINISH_REQUEST);
    finish(request);
  }

  private void finish(Request request) {
    if (request.phase != Phase.WAITING) {
      for (Sequence seq : request.live()) {
        freeSequence(seq);
      }
      if (request.group.isEncoderDecoder()) {
        manager.freeCross(request.group);
        assertThrows(
            IllegalArgumentException.class, () -> manager.getCrossBlockTable(request.group));
      }
    }
    for (Sequence seq : request.live()) {
      seq.setStatus(SequenceStatus.FINISHED_ABORTED);
    }
    requests.remove(request);
  }

  private void freeSequence(Sequence seq) {
    manager.free(seq);
    expectedTableLength.remove(seq.id());
    slotted.remove(seq.id());
    assertThrows(IllegalArgumentException.class, () -> manager.getBlockTable(seq));
  }

  private void swapOut() {
    Request request = pick(Phase.RUNNING);
    if (request != null && manager.canSwapOut(request.group)) {
      swapOut(request);
    }
  }

  private void swapOut(Request request) {
    lastOperation = "swap out " + request.group.requestId();
    swap(request, Phase.SWAPPED, SequenceStatus.SWAPPED);
  }

  private void swapIn() {
    Request request = pick(Phase.SWAPPED);
    if (request != null && manager.canSwapIn(request.group, 0) == AllocStatus.OK) {
      lastOperation = "swap in " + request.group.requestId();
      swap(request, Phase.RUNNING, SequenceStatus.RUNNING);
    }
  }

  /** Swaps the request's live sequences and cross table, checking the mapping against them. */
  private void swap(Request request, Phase to, SequenceStatus status) {
    List<Sequence> seqs = request.live();
    List<int[]> before = tables(request);
    int gpuFree = manager.numFreeGpuBlocks();
    int cpuFree = manager.numFreeCpuBlocks();
    List<BlockMapping> mapping =
        to == Phase.SWAPPED ? manager.swapOut(request.group) : manager.swapIn(request.group);
    count(to == Phase.SWAPPED ? Event.SWAP_OUT : Event.SWAP_IN);
    for (Sequence seq : seqs) {
      seq.setStatus(status);
    }
    request.phase = to;
    List<int[]> after = tables(request);
    Map<Integer, Integer> bySource = new HashMap<>();
    Set<Integer> targets = new HashSet<>();
    for (BlockMapping m : mapping) {
      assertEquals(null, bySource.put(m.src(), m.dst()), () -> "block " + m.src() + " moved twice");
      assertTrue(targets.add(m.dst()), () -> "two blocks moved into " + m.dst());
    }
    Set<Integer> sources = new HashSet<>();
    for (int t = 0; t < before.size(); t++) {
      assertEquals(before.get(t).length, after.get(t).length, "a swap changed a table's length");
      for (int i = 0; i < before.get(t).length; i++) {
        sources.add(before.get(t)[i]);
        assertEquals(bySource.get(before.get(t)[i]), after.get(t)[i], "block moved elsewhere");
      }
    }
    assertEquals(sources, bySource.keySet(), "the mapping covers exactly the request's blocks");
    if (!prefixCaching) {
      int moved = mapping.size();
      int sign = to == Phase.SWAPPED ? 1 : -1;
      assertEquals(gpuFree + sign * moved, manager.numFreeGpuBlocks(), "GPU free after swap");
      assertEquals(cpuFree - sign * moved, manager.numFreeCpuBlocks(), "CPU free after swap");
    }
  }

  private void recompute() {
    Request request = pick(Phase.RUNNING);
    if (request != null && request.live().size() == 1) {
      recompute(request);
    }
  }

  /** Preemption by recompute: free the self and cross tables; the request waits to re-prefill. */
  private void recompute(Request request) {
    lastOperation = "recompute " + request.group.requestId();
    count(Event.RECOMPUTE);
    for (Sequence seq : request.live()) {
      freeSequence(seq);
      seq.setStatus(SequenceStatus.WAITING);
    }
    manager.freeCross(request.group);
    request.phase = Phase.WAITING;
  }

  private void prefixCachingHooks() {
    Request request = pick(Phase.RUNNING);
    if (request == null) {
      return;
    }
    lastOperation = "prefix caching hooks " + request.group.requestId();
    List<Sequence> running = request.group.sequences(SequenceStatus.RUNNING);
    for (Sequence seq : running) {
      manager.accessAllBlocksInSeq(seq, ++clock);
    }
    manager.markBlocksAsComputed(request.group, random.nextInt(3 * BLOCK_SIZE));
    int[] common = manager.getCommonComputedBlockIds(running);
    if (!prefixCaching) {
      assertEquals(0, common.length, "computed blocks without prefix caching");
    }
    for (int i = 0; i < common.length; i++) {
      boolean inSomeTable = false;
      for (Sequence seq : running) {
        int[] table = manager.getBlockTable(seq);
        inSomeTable |= i < table.length && table[i] == common[i];
      }
      assertTrue(inSomeTable, "a computed block is at its position in no table");
    }
  }

  private void reset() {
    lastOperation = "reset";
    manager.reset();
    for (Request request : requests) {
      for (Sequence seq : request.live()) {
        seq.setStatus(SequenceStatus.FINISHED_ABORTED);
      }
    }
    requests.clear();
    expectedTableLength.clear();
    slotted.clear();
    assertEquals(NUM_GPU_BLOCKS, manager.numFreeGpuBlocks());
    assertEquals(NUM_CPU_BLOCKS, manager.numFreeCpuBlocks());
  }

  /** Finishes every request; then every block must be free again. */
  private void drain() {
    while (!requests.isEmpty()) {
      finish(requests.getLast());
      verifier.verify(requests, expectedTableLength, slotted);
    }
    assertEquals(NUM_GPU_BLOCKS, manager.numFreeGpuBlocks(), "GPU blocks leaked");
    assertEquals(NUM_CPU_BLOCKS, manager.numFreeCpuBlocks(), "CPU blocks leaked");
  }

  // ---- helpers ---------------------------------------------------------------------------------

  private List<int[]> tables(Request request) {
    List<int[]> tables = new ArrayList<>();
    for (Sequence seq : request.live()) {
      tables.add(manager.getBlockTable(seq));
    }
    if (request.group.isEncoderDecoder()) {
      tables.add(manager.getCrossBlockTable(request.group));
    }
    return tables;
  }

  private Request pick(Phase phase) {
    List<Request> candidates = new ArrayList<>();
    for (Request request : requests) {
      if (request.phase == phase) {
        candidates.add(request);
      }
    }
    return candidates.isEmpty() ? null : candidates.get(random.nextInt(candidates.size()));
  }

  private static int blocks(int tokens) {
    return (tokens + BLOCK_SIZE - 1) / BLOCK_SIZE;
  }

  private static int crossBlocks(SequenceGroup group) {
    return group.isEncoderDecoder() ? blocks(group.encoderSequence().length()) : 0;
  }
}
