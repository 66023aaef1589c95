package dev.tandem.core.engine;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.block.AllocStatus;
import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockMapping;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.api.sequence.SequenceStatus;
import dev.tandem.core.config.PreemptionMode;
import dev.tandem.core.engine.SchedulerOutput.FailedGroup;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;

/**
 * vLLM's default (v0, no chunked prefill) scheduling policy for encoder/decoder groups. Three
 * queues, first come first served: {@code waiting} (new and recompute-preempted groups), {@code
 * running}, {@code swapped}. A step is either all prefill or all decode:
 *
 * <ol>
 *   <li>If nothing is swapped out, waiting groups are admitted in order while the block manager
 *       says {@code OK} and the budgets (tokens: encoder + decoder; sequences) allow; {@code LATER}
 *       stops admission, {@code NEVER} fails that group and admission goes on.
 *   <li>If no group was admitted, every running group decodes one token. When a group cannot grow,
 *       the lowest-priority running group (latest arrival) is preempted — possibly the group itself
 *       — until it can: by recompute (decoder tables and cross table freed, back to the front of
 *       {@code waiting}, its whole sequence and encoder re-run at its next prefill) for a group
 *       with one unfinished sequence in {@link PreemptionMode#RECOMPUTE} mode, otherwise by
 *       swapping its decoder tables and its cross table to the host pool.
 *   <li>If nothing was preempted, swapped groups come back in order while they fit.
 * </ol>
 *
 * <p>Multi-step scheduling (vLLM's {@code num_scheduler_steps}): with {@code numLookaheadSlots} = K
 * − 1 > 0, each running group also gets room for K − 1 further tokens when that fits without
 * preempting anyone, so that the engine may run K decode positions before it schedules again. The
 * step's {@link SchedulerOutput#numLookaheadSlots} is what every group got: K − 1, or 0 as soon as
 * one group got none (it was short of blocks, or came back from the swap pool).
 *
 * <p>Not thread-safe: the engine loop owns it and its block manager.
 */
public final class Scheduler {

  private final BlockSpaceManager blocks;
  private final BlockManagerConfig cache;
  private final int maxNumSeqs;
  private final int maxNumBatchedTokens;
  private final PreemptionMode preemptionMode;
  private final int numLookaheadSlots;
  private int stepLookahead; // the lookahead every group of the step being scheduled got

  private final Deque<SequenceGroup> waiting = new ArrayDeque<>();
  private final List<SequenceGroup> running = new ArrayList<>();
  private final Deque<SequenceGroup> swapped = new ArrayDeque<>();

  private long preemptions;
  private long recomputations;
  private long swapOuts;
  private long swapIns;
  private long failedCount;

  /**
   * @param cache the block manager's pool sizes, for the error messages
   * @param maxNumSeqs decoder sequences per step
   * @param maxNumBatchedTokens encoder plus decoder tokens per prefill step
   * @param numLookaheadSlots further tokens each decoding group may get room for (see the class
   *     comment); 0 schedules one token per step
   */
  public Scheduler(
      BlockSpaceManager blocks,
      BlockManagerConfig cache,
      int maxNumSeqs,
      int maxNumBatchedTokens,
      PreemptionMode preemptionMode,
      int numLookaheadSlots) {
    this.blocks = requireNonNull(blocks, "blocks is null");
    this.cache = requireNonNull(cache, "cache is null");
    this.preemptionMode = requireNonNull(preemptionMode, "preemptionMode is null");
    if (maxNumSeqs < 1 || maxNumBatchedTokens < 1) {
      throw new IllegalArgumentException(
          "maxNumSeqs="
              + maxNumSeqs
              + ", maxNumBatchedTokens="
              + maxNumBatchedTokens
              + ": both must be at least 1");
    }
    if (numLookaheadSlots < 0) {
      throw new IllegalArgumentException(
          "numLookaheadSlots=" + numLookaheadSlots + ": must be >= 0");
    }
    this.maxNumSeqs = maxNumSeqs;
    this.maxNumBatchedTokens = maxNumBatchedTokens;
    this.numLookaheadSlots = numLookaheadSlots;
  }

  /** Queues a new group; its decoder sequence must be WAITING. */
  public void add(SequenceGroup group) {
    waiting.addLast(requireNonNull(group, "group is null"));
  }

  public boolean hasUnfinished() {
    return !waiting.isEmpty() || !running.isEmpty() || !swapped.isEmpty();
  }

  public int numWaiting() {
    return waiting.size();
  }

  public int numRunning() {
    return running.size();
  }

  public int numSwapped() {
    return swapped.size();
  }

  public SchedulerStats stats() {
    return new SchedulerStats(preemptions, recomputations, swapOuts, swapIns, failedCount);
  }

  /**
   * Removes the group from whichever queue holds it, frees its blocks (device or swap pool) and
   * marks its unfinished sequences aborted.
   *
   * @return the group, or null if no queue holds that request id
   */
  public SequenceGroup abort(String requestId) {
    SequenceGroup group = remove(requestId);
    if (group != null) {
      release(group, SequenceStatus.FINISHED_ABORTED);
    }
    return group;
  }

  /** Gives a finished sequence's self-attention blocks back (its status is already finished). */
  public void freeSequence(Sequence seq) {
    blocks.free(seq);
  }

  /** The child shares the parent's blocks (n &gt; 1 and beam search). */
  public void fork(Sequence parent, Sequence child) {
    blocks.fork(parent, child);
  }

  /**
   * Drops finished groups from the running queue and frees their cross tables; their decoder
   * sequences were freed as each finished.
   */
  public void removeFinished() {
    for (Iterator<SequenceGroup> it = running.iterator(); it.hasNext(); ) {
      SequenceGroup group = it.next();
      if (group.isFinished()) {
        if (group.isEncoderDecoder()) {
          blocks.freeCross(group);
        }
        it.remove();
      }
    }
  }

  /** Decides the next step; see the class comment for the policy. */
  public SchedulerOutput schedule() {
    List<FailedGroup> failed = new ArrayList<>();
    if (swapped.isEmpty()) {
      Prefills prefills = schedulePrefills(failed);
      if (!prefills.groups.isEmpty()) {
        running.addAll(prefills.groups);
        sortRunning();
        return new SchedulerOutput(
            true, prefills.groups, List.of(), List.of(), List.of(), failed, prefills.tokens, 0);
      }
    }
    List<BlockMapping> swapOut = new ArrayList<>();
    List<BlockMapping> copies = new ArrayList<>();
    List<SequenceGroup> decodes = new ArrayList<>();
    stepLookahead = numLookaheadSlots;
    boolean preempted = scheduleRunning(decodes, swapOut, copies, failed);
    List<BlockMapping> swapIn = new ArrayList<>();
    if (!preempted && scheduleSwapped(decodes, swapIn, copies, failed)) {
      stepLookahead = 0; // groups back from the swap pool got no lookahead
    }
    running.clear();
    running.addAll(decodes);
    sortRunning();
    int tokens = 0;
    for (SequenceGroup group : decodes) {
      tokens += group.numSequences(SequenceStatus.RUNNING);
    }
    return new SchedulerOutput(
        false, List.copyOf(running), swapIn, swapOut, copies, failed, tokens, stepLookahead);
  }

  private record Prefills(List<SequenceGroup> groups, int tokens) {}

  private Prefills schedulePrefills(List<FailedGroup> failed) {
    if (waiting.isEmpty()) {
      return new Prefills(List.of(), 0); // the common decode step: no running-sequence count
    }
    List<SequenceGroup> admitted = new ArrayList<>();
    int tokens = 0;
    int seqs = runningSequences();
    while (!waiting.isEmpty()) {
      SequenceGroup group = waiting.peekFirst();
      List<Sequence> seqsWaiting = group.sequences(SequenceStatus.WAITING);
      if (seqsWaiting.size() != 1) {
        throw new IllegalStateException(
            "waiting request "
                + group.requestId()
                + " has "
                + seqsWaiting.size()
                + " waiting sequences; a prefill needs exactly one");
      }
      int groupTokens = encoderLength(group) + seqsWaiting.getFirst().length();
      int groupSeqs = maxRunningSequences(group);
      String never = neverReason(group, groupTokens, groupSeqs);
      if (never != null) {
        waiting.pollFirst();
        fail(group, never, failed);
        continue;
      }
      AllocStatus status = blocks.canAllocate(group);
      if (status == AllocStatus.NEVER) {
        waiting.pollFirst();
        fail(group, cacheTooSmall(group), failed);
        continue;
      }
      if (status == AllocStatus.LATER
          || tokens + groupTokens > maxNumBatchedTokens
          || seqs + groupSeqs > maxNumSeqs) {
        break;
      }
      waiting.pollFirst();
      blocks.allocate(group);
      seqsWaiting.getFirst().setStatus(SequenceStatus.RUNNING);
      admitted.add(group);
      tokens += groupTokens;
      seqs += groupSeqs;
    }
    return new Prefills(admitted, tokens);
  }

  /**
   * Decodes every running group, preempting from the back when blocks run out; lowers {@link
   * #stepLookahead} to 0 when a group gets no lookahead slots.
   */
  private boolean scheduleRunning(
      List<SequenceGroup> decodes,
      List<BlockMapping> swapOut,
      List<BlockMapping> copies,
      List<FailedGroup> failed) {
    Deque<SequenceGroup> queue = new ArrayDeque<>(running);
    List<SequenceGroup> preemptedByRecompute = new ArrayList<>();
    boolean preempted = false;
    while (!queue.isEmpty()) {
      SequenceGroup group = queue.pollFirst();
      int groupLookahead =
          numLookaheadSlots > 0 && blocks.canAppendSlots(group, numLookaheadSlots)
              ? numLookaheadSlots
              : 0;
      boolean scheduled = true;
      while (groupLookahead == 0 && !blocks.canAppendSlots(group, 0)) {
        SequenceGroup victim = queue.isEmpty() ? group : queue.pollLast();
        preempted = true;
        preempt(victim, swapOut, preemptedByRecompute, failed);
        if (victim == group) {
          scheduled = false;
          break;
        }
      }
      if (scheduled) {
        appendSlots(group, groupLookahead, copies);
        stepLookahead = Math.min(stepLookahead, groupLookahead);
        decodes.add(group);
      }
    }
    // Earliest arrivals first at the front of waiting, as vLLM's extendleft of the preempted list.
    preemptedByRecompute.sort(Comparator.comparingLong(SequenceGroup::arrivalTimeNanos));
    for (int i = preemptedByRecompute.size() - 1; i >= 0; i--) {
      waiting.addFirst(preemptedByRecompute.get(i));
    }
    return preempted;
  }

  /** Brings swapped groups back while they fit; whether any came back. */
  private boolean scheduleSwapped(
      List<SequenceGroup> decodes,
      List<BlockMapping> swapIn,
      List<BlockMapping> copies,
      List<FailedGroup> failed) {
    if (swapped.isEmpty()) {
      return false; // the common case: no per-group sum each step
    }
    boolean swappedIn = false;
    int seqs = decodes.stream().mapToInt(SequenceGroup::numUnfinished).sum();
    while (!swapped.isEmpty()) {
      SequenceGroup group = swapped.peekFirst();
      AllocStatus status = blocks.canSwapIn(group, 0);
      if (status == AllocStatus.NEVER) {
        swapped.pollFirst();
        fail(group, cacheTooSmall(group), failed);
        continue;
      }
      int groupSeqs = group.numSequences(SequenceStatus.SWAPPED);
      if (status == AllocStatus.LATER || seqs + groupSeqs > maxNumSeqs) {
        break;
      }
      swapped.pollFirst();
      swapIn.addAll(blocks.swapIn(group));
      for (Sequence seq : group.sequences(SequenceStatus.SWAPPED)) {
        seq.setStatus(SequenceStatus.RUNNING);
      }
      swapIns++;
      swappedIn = true;
      appendSlots(group, 0, copies);
      decodes.add(group);
      seqs += groupSeqs;
    }
    return swappedIn;
  }

  private void appendSlots(SequenceGroup group, int lookahead, List<BlockMapping> copies) {
    for (Sequence seq : group.sequences(SequenceStatus.RUNNING)) {
      copies.addAll(blocks.appendSlots(seq, lookahead));
    }
  }

  private void preempt(
      SequenceGroup group,
      List<BlockMapping> swapOut,
      List<SequenceGroup> preemptedByRecompute,
      List<FailedGroup> failed) {
    preemptions++;
    boolean single = group.numUnfinished() == 1;
    boolean swap = preemptionMode == PreemptionMode.SWAP || !single;
    if (swap && blocks.canSwapOut(group)) {
      swapOut.addAll(blocks.swapOut(group));
      for (Sequence seq : group.sequences(SequenceStatus.RUNNING)) {
        seq.setStatus(SequenceStatus.SWAPPED);
      }
      swapOuts++;
      swapped.addLast(group);
    } else if (single) {
      // Recompute (also the fallback when swap space is full): drop every block the group holds.
      for (Sequence seq : group.sequences(SequenceStatus.RUNNING)) {
        blocks.free(seq);
        seq.setStatus(SequenceStatus.WAITING);
      }
      if (group.isEncoderDecoder()) {
        blocks.freeCross(group);
      }
      recomputations++;
      preemptedByRecompute.add(group);
    } else {
      fail(
          group,
          "request "
              + group.requestId()
              + " had to be preempted, but its "
              + group.numUnfinished()
              + " sequences cannot be recomputed and their blocks do not fit in the swap space ("
              + blocks.numFreeCpuBlocks()
              + " of "
              + cache.numCpuBlocks()
              + " blocks free); increase swap-space",
          failed);
    }
  }

  private String neverReason(SequenceGroup group, int groupTokens, int groupSeqs) {
    if (groupTokens > maxNumBatchedTokens) {
      return "request "
          + group.requestId()
          + " needs "
          + groupTokens
          + " tokens (encoder + decoder) in one prefill step, but max-num-batched-tokens is "
          + maxNumBatchedTokens;
    }
    if (groupSeqs > maxNumSeqs) {
      return "request "
          + group.requestId()
          + " needs "
          + groupSeqs
          + " sequences (n / num_beams), but max-num-seqs is "
          + maxNumSeqs;
    }
    return null;
  }

  private String cacheTooSmall(SequenceGroup group) {
    int decoder = 0;
    for (Sequence seq : group.sequences()) {
      if (!seq.isFinished()) {
        decoder += ceilDiv(seq.length(), cache.blockSize());
      }
    }
    int cross = ceilDiv(encoderLength(group), cache.blockSize());
    return "request "
        + group.requestId()
        + " needs "
        + (decoder + cross)
        + " blocks ("
        + decoder
        + " decoder + "
        + cross
        + " cross-attention, "
        + cache.blockSize()
        + " tokens each), the cache has "
        + cache.numGpuBlocks()
        + " (watermark "
        + cache.watermark()
        + " kept free); it can never run: enlarge the KV cache or shorten the prompt";
  }

  /** Sequences the group will run at its next step: n or num_beams before its first prefill. */
  private static int maxRunningSequences(SequenceGroup group) {
    int unfinished = group.numUnfinished();
    boolean fresh =
        group.sequences().size() == 1 && group.sequences().getFirst().outputLength() == 0;
    if (!fresh) {
      return unfinished;
    }
    var params = group.samplingParams();
    return Math.max(unfinished, params.isBeamSearch() ? params.numBeams() : params.n());
  }

  private void fail(SequenceGroup group, String reason, List<FailedGroup> failed) {
    release(group, SequenceStatus.FINISHED_IGNORED);
    failedCount++;
    failed.add(new FailedGroup(group, reason));
  }

  /** Frees whatever blocks the group holds and finishes its unfinished sequences. */
  private void release(SequenceGroup group, SequenceStatus finalStatus) {
    boolean holdsCross = false;
    for (Sequence seq : group.sequences()) {
      SequenceStatus status = seq.status();
      if (status == SequenceStatus.RUNNING || status == SequenceStatus.SWAPPED) {
        blocks.free(seq);
        holdsCross = true;
      }
      if (!seq.isFinished()) {
        seq.setStatus(finalStatus);
      }
    }
    if (holdsCross && group.isEncoderDecoder()) {
      blocks.freeCross(group);
    }
  }

  private SequenceGroup remove(String requestId) {
    for (var queue : List.of(waiting, running, swapped)) {
      for (Iterator<SequenceGroup> it = queue.iterator(); it.hasNext(); ) {
        SequenceGroup group = it.next();
        if (group.requestId().equals(requestId)) {
          it.remove();
          return group;
        }
      }
    }
    return null;
  }

  private int runningSequences() {
    int count = 0;
    for (SequenceGroup group : running) {
      count += group.numUnfinished();
    }
    return count;
  }

  private void sortRunning() {
    running.sort(Comparator.comparingLong(SequenceGroup::arrivalTimeNanos));
  }

  private static int encoderLength(SequenceGroup group) {
    return group.isEncoderDecoder() ? group.encoderSequence().length() : 0;
  }

  private static int ceilDiv(int a, int b) {
    return (a + b - 1) / b;
  }
}
