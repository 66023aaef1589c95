package dev.tandem.benchmarks.cpu;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionMetadata;
import dev.tandem.api.backend.AttentionSpec;
import dev.tandem.api.backend.AttentionType;
import dev.tandem.api.backend.BackendConfig;
import dev.tandem.api.backend.DataType;
import dev.tandem.api.backend.DeviceTensor;
import dev.tandem.api.backend.KvCacheSpec;
import dev.tandem.api.backend.PositionBias;
import dev.tandem.backend.cpu.CpuBackendProvider;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One decode step of paged self-attention on the CPU backend (2 threads): 32 sequences × 512 cached
 * tokens × 8 heads × 64, block size 16, blocks shuffled over the pool, with and without T5's
 * relative position bias. The secondary metric {@code gbRead} is an {@link AuxCounters} field
 * raised per call by the K and V bytes the step reads (2 · 32 · 512 · 8 · 64 · 4 B = 67 MB), so its
 * rate is GB/s of KV read.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class DecodeAttentionBenchmark {

  private static final int SEQUENCES = 32;
  private static final int CONTEXT = 512;
  private static final int HEADS = 8;
  private static final int HEAD_DIM = 64;
  private static final int BLOCK_SIZE = 16;

  @Param({"false", "true"})
  public boolean bias;

  private AttentionBackend backend;
  private AttentionSpec spec;
  private AttentionMetadata metadata;
  private DeviceTensor q;
  private DeviceTensor k;
  private DeviceTensor v;
  private DeviceTensor out;

  /** KV bytes read, in GB, as a rate: GB/s. */
  @AuxCounters(AuxCounters.Type.OPERATIONS)
  @State(Scope.Thread)
  public static class Traffic {
    public double gbRead;

    @Setup(Level.Iteration)
    public void reset() {
      gbRead = 0;
    }
  }

  @Setup
  public void setUp() {
    backend = new CpuBackendProvider().create(new BackendConfig(2, Map.of()));
    Random random = new Random(2);
    int blocksPerSequence = CONTEXT / BLOCK_SIZE;
    int numBlocks = SEQUENCES * blocksPerSequence;
    backend.allocateKvCache(new KvCacheSpec(1, numBlocks, 0, BLOCK_SIZE, HEADS, HEAD_DIM));
    List<Integer> ids = new ArrayList<>(IntStream.range(0, numBlocks).boxed().toList());
    Collections.shuffle(ids, random);
    int[][] tables = new int[SEQUENCES][blocksPerSequence];
    int[] seqLens = new int[SEQUENCES];
    int[] slots = new int[SEQUENCES];
    for (int s = 0; s < SEQUENCES; s++) {
      for (int b = 0; b < blocksPerSequence; b++) {
        tables[s][b] = ids.get(s * blocksPerSequence + b);
      }
      seqLens[s] = CONTEXT;
      slots[s] = tables[s][blocksPerSequence - 1] * BLOCK_SIZE + BLOCK_SIZE - 1;
    }
    // Fill the cache: one prefill of every sequence's 512 tokens through the backend.
    int stride = HEADS * HEAD_DIM;
    int tokens = SEQUENCES * CONTEXT;
    int[] prefillSlots = new int[tokens];
    int[] prefillLens = new int[SEQUENCES];
    for (int s = 0; s < SEQUENCES; s++) {
      prefillLens[s] = CONTEXT;
      for (int p = 0; p < CONTEXT; p++) {
        prefillSlots[s * CONTEXT + p] = tables[s][p / BLOCK_SIZE] * BLOCK_SIZE + p % BLOCK_SIZE;
      }
    }
    DeviceTensor kv = backend.upload(GemmBenchmark.randomFloats(random, tokens * stride));
    AttentionSpec write = new AttentionSpec(0, HEADS, HEAD_DIM, 0.125f, null);
    backend.attention(
        AttentionType.DECODER,
        write,
        backend.allocate(DataType.F32, (long) tokens * stride),
        kv,
        kv,
        backend.allocate(DataType.F32, (long) tokens * stride),
        AttentionMetadata.prefill(
            BLOCK_SIZE, new int[SEQUENCES], new int[0], prefillLens, prefillSlots));
    backend.free(kv);

    PositionBias positionBias =
        bias
            ? new PositionBias(
                backend.upload(GemmBenchmark.randomFloats(random, 32 * HEADS)), 32, 128, false)
            : null;
    spec = new AttentionSpec(0, HEADS, HEAD_DIM, bias ? 1f : 0.125f, positionBias);
    metadata =
        AttentionMetadata.decode(
            BLOCK_SIZE, seqLens, slots, tables, new int[SEQUENCES][0], new int[SEQUENCES]);
    q = backend.upload(GemmBenchmark.randomFloats(random, SEQUENCES * stride));
    k = backend.upload(GemmBenchmark.randomFloats(random, SEQUENCES * stride));
    v = backend.upload(GemmBenchmark.randomFloats(random, SEQUENCES * stride));
    out = backend.allocate(DataType.F32, (long) SEQUENCES * stride);
  }

  @TearDown
  public void tearDown() {
    backend.close();
  }

  @Benchmark
  public void decodeSelfAttention(Traffic traffic) {
    backend.attention(AttentionType.DECODER, spec, q, k, v, out, metadata);
    traffic.gbRead += 2.0 * SEQUENCES * CONTEXT * HEADS * HEAD_DIM * Float.BYTES / 1e9;
  }
}
