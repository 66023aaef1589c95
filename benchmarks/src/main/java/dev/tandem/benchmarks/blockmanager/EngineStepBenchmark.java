package dev.tandem.benchmarks.blockmanager;

import dev.tandem.api.block.AllocStatus;
import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.api.sequence.SequenceStatus;
import java.util.SplittableRandom;
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
 * The block manager's share of one engine step with 256 running encoder/decoder requests (goal:
 * under 100 µs): every running sequence gets its next token's slot (canAppendSlots + appendSlots),
 * and {@value #TURNOVER} requests finish (free + freeCross) while as many new ones are admitted
 * (canAllocate + allocate). Requests have 16–128-token decoder prompts and 32–256 encoder tokens,
 * 16-token blocks; the turnover keeps lengths in a steady state.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class EngineStepBenchmark {

  private static final int RUNNING = 256;
  private static final int TURNOVER = 2;
  private static final int BLOCK_SIZE = 16;

  @Param({"v1", "v2"})
  public String manager;

  private BlockSpaceManager blockManager;
  private final SequenceGroup[] running = new SequenceGroup[RUNNING];
  private final SplittableRandom random = new SplittableRandom(42);
  private long nextId;
  private int oldest;

  @Setup
  public void setUp() {
    // Enough blocks for 256 requests of up to 128 + 256 decoder tokens and 256 encoder tokens.
    int numGpuBlocks = RUNNING * (384 + 256) / BLOCK_SIZE + 1024;
    blockManager =
        BlockManagers.create(
            manager,
            new BlockManagerConfig(
                BLOCK_SIZE, numGpuBlocks, 1024, BlockManagerConfig.DEFAULT_WATERMARK, false));
    for (int i = 0; i < RUNNING; i++) {
      running[i] = admit();
    }
  }

  private SequenceGroup admit() {
    SequenceGroup group =
        BlockManagers.request(
            "r" + nextId, nextId++, 16 + random.nextInt(113), 32 + random.nextInt(225));
    if (blockManager.canAllocate(group) != AllocStatus.OK) {
      throw new IllegalStateException("the benchmark's pool is too small for " + group);
    }
    blockManager.allocate(group);
    Sequence seq = group.sequences().getFirst();
    seq.setStatus(SequenceStatus.RUNNING);
    seq.appendToken(1, 0); // the token the prefill produced
    return group;
  }

  @Benchmark
  public int step() {
    for (int t = 0; t < TURNOVER; t++) {
      SequenceGroup finished = running[oldest];
      blockManager.free(finished.sequences().getFirst());
      blockManager.freeCross(finished);
      running[oldest] = admit();
      oldest = (oldest + 1) % RUNNING;
    }
    int copies = 0;
    for (SequenceGroup group : running) {
      Sequence seq = group.sequences().getFirst();
      if (!blockManager.canAppendSlots(group, 0)) {
        throw new IllegalStateException("the benchmark's pool is too small");
      }
      copies += blockManager.appendSlots(seq, 0).size();
      seq.appendToken(2, 0); // the token this step produces, given a slot by the next step
    }
    return copies;
  }
}
