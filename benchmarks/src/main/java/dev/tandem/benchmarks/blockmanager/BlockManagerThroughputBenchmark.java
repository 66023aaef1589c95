package dev.tandem.benchmarks.blockmanager;

import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockMapping;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.api.sequence.SequenceStatus;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Block manager primitives, per operation: allocating and freeing an encoder/decoder request
 * (64-token decoder prompt, 128-token encoder input, 16-token blocks: 4 + 8 blocks), and appending
 * one decode token to a running sequence.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class BlockManagerThroughputBenchmark {

  private static final int BLOCK_SIZE = 16;
  private static final int PROMPT_LENGTH = 64;
  private static final int ENCODER_LENGTH = 128;
  // A decode sequence is restarted at this length so the benchmark reaches a steady state.
  private static final int MAX_DECODE_LENGTH = 1024;

  @Param({"v1", "v2"})
  public String manager;

  private BlockSpaceManager blockManager;
  private SequenceGroup allocated;
  private SequenceGroup decoding;
  private long nextId;

  @Setup
  public void setUp() {
    blockManager =
        BlockManagers.create(
            manager,
            new BlockManagerConfig(
                BLOCK_SIZE, 1024, 256, BlockManagerConfig.DEFAULT_WATERMARK, false));
    allocated = BlockManagers.request("alloc", nextId++, PROMPT_LENGTH, ENCODER_LENGTH);
    startDecoding();
  }

  private void startDecoding() {
    decoding = BlockManagers.request("decode-" + nextId, nextId++, PROMPT_LENGTH, ENCODER_LENGTH);
    blockManager.allocate(decoding);
    decoding.sequences().getFirst().setStatus(SequenceStatus.RUNNING);
  }

  /** canAllocate + allocate + free + freeCross of one request. */
  @Benchmark
  public int allocateAndFree() {
    blockManager.canAllocate(allocated);
    blockManager.allocate(allocated);
    Sequence seq = allocated.sequences().getFirst();
    blockManager.free(seq);
    blockManager.freeCross(allocated);
    return blockManager.numFreeGpuBlocks();
  }

  /** One decode token: canAppendSlots + appendSlots (a new block every 16 tokens). */
  @Benchmark
  public List<BlockMapping> appendSlot() {
    Sequence seq = decoding.sequences().getFirst();
    if (seq.length() == MAX_DECODE_LENGTH) {
      blockManager.free(seq);
      blockManager.freeCross(decoding);
      startDecoding();
      seq = decoding.sequences().getFirst();
    }
    seq.appendToken(7, 0);
    blockManager.canAppendSlots(decoding, 0);
    return blockManager.appendSlots(seq, 0);
  }
}
