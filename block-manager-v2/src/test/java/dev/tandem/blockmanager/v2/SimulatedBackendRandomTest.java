package dev.tandem.blockmanager.v2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.block.AllocStatus;
import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockMapping;
import dev.tandem.api.block.Device;
import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.api.sequence.SequenceStatus;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Drives the v2 manager like a scheduler would, with random requests drawn from a few encoder
 * inputs and decoder prompts (so that prefix caching and cross-table sharing happen often), and
 * plays the backend: it writes every token into the slot its block table names, applies every
 * copy-on-write and swap mapping, and after every step reads each live sequence back through its
 * tables. A block shared wrongly, a missed or wrong copy, or a block reused too early shows up as a
 * slot holding another sequence's token; {@code checkInvariants} runs after every step too.
 */
class SimulatedBackendRandomTest {

  private static final int OPERATIONS = 20_000;
  private static final int MAX_DECODER_LENGTH = 40;
  private static final int[][] ENCODER_INPUTS = {
    {}, {1, 2, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3}
  };
  private static final int[][] DECODER_PROMPTS = {
    {0}, {0, 5, 5, 5, 5}, {0, 5, 5, 5, 5, 6, 6, 6, 6}
  };

  private final List<SequenceGroup> waiting = new ArrayList<>();
  private final List<SequenceGroup> running = new ArrayList<>();
  private final List<SequenceGroup> swapped = new ArrayList<>();
  private Random random;
  private V2BlockSpaceManager manager;
  private int blockSize;
  private long[] gpuSlots;
  private long[] cpuSlots;
  private long nextId;
  private int numSwaps;
  private int numCopiesOnWrite;

  @ParameterizedTest
  @CsvSource({"1, false", "4, false", "1, true", "3, true"})
  void randomSchedulesKeepEverySequenceReadable(int blockSize, boolean prefixCaching) {
    long seed = 0x5EED0000L + blockSize * 31L + (prefixCaching ? 1 : 0);
    this.random = new Random(seed);
    this.blockSize = blockSize;
    int numGpuBlocks = 96 / blockSize;
    int numCpuBlocks = 48 / blockSize;
    manager =
        new V2BlockSpaceManager(
            new BlockManagerConfig(blockSize, numGpuBlocks, numCpuBlocks, 0.05, prefixCaching));
    gpuSlots = new long[numGpuBlocks * blockSize];
    cpuSlots = new long[numCpuBlocks * blockSize];
    int step = 0;
    try {
      for (; step < OPERATIONS; step++) {
        randomOperation();
        manager.checkInvariants();
        verifyAllReadable();
      }
      for (SequenceGroup group : new ArrayList<>(running)) {
        finish(group, running);
      }
      for (SequenceGroup group : new ArrayList<>(swapped)) {
        finish(group, swapped);
      }
      manager.checkInvariants();
      assertEquals(numGpuBlocks, manager.numFreeGpuBlocks(), "device blocks leaked");
      assertTrue(numSwaps > 100 && numCopiesOnWrite > 100, "too few swaps or copies to mean much");
      assertEquals(prefixCaching, manager.prefixCacheHitRate(Device.GPU) > 0.1);
      assertEquals(numCpuBlocks, manager.numFreeCpuBlocks(), "swap blocks leaked");
    } catch (RuntimeException | AssertionError e) {
      throw new AssertionError("seed " + seed + ", step " + step + ": " + e.getMessage(), e);
    }
  }

  private void randomOperation() {
    int op = random.nextInt(100);
    if (op < 12) {
      waiting.add(newRequest());
    } else if (op < 30) {
      allocateOne();
    } else if (op < 65) {
      appendOrPreempt();
    } else if (op < 70) {
      forkOne();
    } else if (op < 76) {
      swapOutOne();
    } else if (op < 84) {
      swapInOne();
    } else if (op < 88) {
      finishOneSequence();
    } else if (op < 94) {
      if (!running.isEmpty()) {
        finish(pick(running), running);
      }
    } else {
      checkComputedBlocks();
    }
  }

  private SequenceGroup newRequest() {
    int[] encoder = random.nextInt(4) == 0 ? null : ENCODER_INPUTS[random.nextInt(4)];
    int[] prompt = DECODER_PROMPTS[random.nextInt(DECODER_PROMPTS.length)];
    List<Sequence> seqs = new ArrayList<>();
    for (int i = 1 + random.nextInt(2); i > 0; i--) {
      seqs.add(new Sequence(nextId++, prompt));
    }
    Sequence encoderSeq = encoder == null ? null : new Sequence(nextId++, encoder);
    return new SequenceGroup("r" + nextId, encoderSeq, seqs, 0, SamplingParams.greedy());
  }

  private <T> T pick(List<T> list) {
    return list.get(random.nextInt(list.size()));
  }

  private void allocateOne() {
    if (waiting.isEmpty()) {
      return;
    }
    SequenceGroup group = waiting.get(0);
    AllocStatus status = manager.canAllocate(group);
    if (status == AllocStatus.NEVER) {
      waiting.remove(0);
    } else if (status == AllocStatus.OK) {
      waiting.remove(0);
      manager.allocate(group);
      List<Sequence> seqs = group.sequences(SequenceStatus.WAITING);
      seqs.forEach(seq -> seq.setStatus(SequenceStatus.RUNNING));
      running.add(group);
      // Prefill: the encoder writes the cross table, the decoder its prompt.
      if (group.isEncoderDecoder()) {
        Sequence encoder = group.encoderSequence();
        int[] cross = manager.getCrossBlockTable(group);
        for (int i = 0; i < encoder.length(); i++) {
          gpuSlots[slot(cross, i)] = crossValue(group, i);
        }
      }
      for (Sequence seq : seqs) {
        int[] table = manager.getBlockTable(seq);
        for (int i = 0; i < seq.length(); i++) {
          gpuSlots[slot(table, i)] = decoderValue(group, seq, i);
        }
      }
      manager.markBlocksAsComputed(group, seqs.get(0).length());
    }
  }

  private void appendOrPreempt() {
    if (running.isEmpty()) {
      return;
    }
    SequenceGroup group = pick(running);
    int lookahead = random.nextInt(3);
    if (!manager.canAppendSlots(group, lookahead)) {
      preempt(group);
      return;
    }
    for (Sequence seq : group.sequences(SequenceStatus.RUNNING)) {
      seq.appendToken(5 + random.nextInt(2), 0);
      List<BlockMapping> copies = manager.appendSlots(seq, lookahead);
      numCopiesOnWrite += copies.size();
      applyCopies(copies, gpuSlots, gpuSlots);
      int[] table = manager.getBlockTable(seq);
      gpuSlots[slot(table, seq.length() - 1)] = decoderValue(group, seq, seq.length() - 1);
      manager.accessAllBlocksInSeq(seq, random.nextInt(1000));
    }
    manager.markBlocksAsComputed(group, 1);
    if (group.sequences(SequenceStatus.RUNNING).get(0).length() >= MAX_DECODER_LENGTH) {
      finish(group, running);
    }
  }

  /** Swap if the group has several sequences and fits, else recompute (vLLM's policy). */
  private void preempt(SequenceGroup group) {
    if (group.sequences(SequenceStatus.RUNNING).size() > 1 && manager.canSwapOut(group)) {
      swapOut(group);
      return;
    }
    for (Sequence seq : group.sequences(SequenceStatus.RUNNING)) {
      manager.free(seq);
      seq.setStatus(SequenceStatus.WAITING);
    }
    manager.freeCross(group);
    running.remove(group);
    waiting.add(0, group);
  }

  private void forkOne() {
    if (running.isEmpty()) {
      return;
    }
    SequenceGroup group = pick(running);
    if (group.sequences(SequenceStatus.RUNNING).size() < 4) {
      Sequence parent = pick(group.sequences(SequenceStatus.RUNNING));
      Sequence child = parent.fork(nextId++);
      group.addSequence(child);
      manager.fork(parent, child);
    }
  }

  private void swapOutOne() {
    if (!running.isEmpty()) {
      SequenceGroup group = pick(running);
      if (manager.canSwapOut(group)) {
        swapOut(group);
      }
    }
  }

  private void swapOut(SequenceGroup group) {
    applyCopies(manager.swapOut(group), gpuSlots, cpuSlots);
    numSwaps++;
    group.sequences(SequenceStatus.RUNNING).forEach(s -> s.setStatus(SequenceStatus.SWAPPED));
    running.remove(group);
    swapped.add(group);
  }

  private void swapInOne() {
    if (!swapped.isEmpty()) {
      SequenceGroup group = pick(swapped);
      if (manager.canSwapIn(group, 0) == AllocStatus.OK) {
        applyCopies(manager.swapIn(group), cpuSlots, gpuSlots);
        numSwaps++;
        group.sequences(SequenceStatus.SWAPPED).forEach(s -> s.setStatus(SequenceStatus.RUNNING));
        swapped.remove(group);
        running.add(group);
      }
    }
  }

  private void finishOneSequence() {
    if (running.isEmpty()) {
      return;
    }
    SequenceGroup group = pick(running);
    List<Sequence> seqs = group.sequences(SequenceStatus.RUNNING);
    if (seqs.size() > 1) {
      Sequence seq = pick(seqs);
      manager.free(seq);
      seq.setStatus(SequenceStatus.FINISHED_STOPPED);
    }
  }

  private void finish(SequenceGroup group, List<SequenceGroup> queue) {
    for (Sequence seq : group.sequences()) {
      if (!seq.isFinished()) {
        manager.free(seq);
        seq.setStatus(SequenceStatus.FINISHED_STOPPED);
      }
    }
    manager.freeCross(group);
    queue.remove(group);
  }

  /** The blocks the manager says are computed must be a prefix of each sequence's table. */
  private void checkComputedBlocks() {
    if (running.isEmpty()) {
      return;
    }
    List<Sequence> seqs = pick(running).sequences(SequenceStatus.RUNNING);
    int[] common = manager.getCommonComputedBlockIds(seqs);
    for (Sequence seq : seqs) {
      int[] table = manager.getBlockTable(seq);
      assertEquals(
          Arrays.toString(common),
          Arrays.toString(Arrays.copyOf(table, Math.min(common.length, table.length))));
    }
  }

  /** What the backend does with a swap or copy-on-write mapping: copy whole blocks, in order. */
  private void applyCopies(List<BlockMapping> copies, long[] from, long[] to) {
    for (BlockMapping copy : copies) {
      System.arraycopy(from, copy.src() * blockSize, to, copy.dst() * blockSize, blockSize);
    }
  }

  private int slot(int[] table, int position) {
    return table[position / blockSize] * blockSize + position % blockSize;
  }

  private static long decoderValue(SequenceGroup group, Sequence seq, int position) {
    long root = group.isEncoderDecoder() ? Arrays.hashCode(group.encoderSequence().tokenIds()) : 7;
    return (root << 32) ^ seq.tokenAt(position);
  }

  private static long crossValue(SequenceGroup group, int position) {
    int[] input = group.encoderSequence().tokenIds();
    return (1L << 62) ^ ((long) Arrays.hashCode(input) << 24) ^ input[position];
  }

  private void verifyAllReadable() {
    for (List<SequenceGroup> queue : List.of(running, swapped)) {
      long[] slots = queue == running ? gpuSlots : cpuSlots;
      for (SequenceGroup group : queue) {
        if (group.isEncoderDecoder()) {
          int[] cross = manager.getCrossBlockTable(group);
          for (int i = 0; i < group.encoderSequence().length(); i++) {
            int position = i;
            assertEquals(
                crossValue(group, i), slots[slot(cross, i)], () -> group + " cross " + position);
          }
        }
        for (Sequence seq : group.sequences()) {
          if (seq.isFinished()) {
            continue;
          }
          int[] table = manager.getBlockTable(seq);
          for (int i = 0; i < seq.length(); i++) {
            int position = i;
            assertEquals(
                decoderValue(group, seq, i), slots[slot(table, i)], () -> seq + " at " + position);
          }
        }
      }
    }
  }
}
