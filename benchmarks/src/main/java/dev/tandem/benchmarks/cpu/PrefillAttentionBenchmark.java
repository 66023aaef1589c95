package dev.tandem.benchmarks.cpu;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionMetadata;
import dev.tandem.api.backend.AttentionSpec;
import dev.tandem.api.backend.AttentionType;
import dev.tandem.api.backend.BackendConfig;
import dev.tandem.api.backend.DataType;
import dev.tandem.api.backend.DeviceTensor;
import dev.tandem.api.backend.PositionBias;
import dev.tandem.backend.cpu.CpuBackendProvider;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One layer's encoder self-attention at prefill on the CPU backend (2 threads): 16 sequences of
 * {@code length} tokens × 8 heads × 64 (t5-small's heads), with T5's relative position bias. The
 * secondary metric {@code gflop} ({@link GemmBenchmark.Flops}) is raised per call by the two matrix
 * products' 4 · 16 · length² · 8 · 64 FLOP, so its rate is GFLOP/s.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class PrefillAttentionBenchmark {

  private static final int SEQUENCES = 16;
  private static final int HEADS = 8;
  private static final int HEAD_DIM = 64;

  @Param({"128", "512"})
  public int length;

  private AttentionBackend backend;
  private AttentionSpec spec;
  private AttentionMetadata metadata;
  private DeviceTensor q;
  private DeviceTensor k;
  private DeviceTensor v;
  private DeviceTensor out;

  @Setup
  public void setUp() {
    backend = new CpuBackendProvider().create(new BackendConfig(2, Map.of()));
    Random random = new Random(3);
    int rows = SEQUENCES * length * HEADS * HEAD_DIM;
    int[] lens = new int[SEQUENCES];
    Arrays.fill(lens, length);
    PositionBias bias =
        new PositionBias(
            backend.upload(GemmBenchmark.randomFloats(random, 32 * HEADS)), 32, 128, true);
    spec = new AttentionSpec(0, HEADS, HEAD_DIM, 1f, bias);
    metadata = AttentionMetadata.prefill(16, lens, new int[0], new int[SEQUENCES], new int[0]);
    q = backend.upload(GemmBenchmark.randomFloats(random, rows));
    k = backend.upload(GemmBenchmark.randomFloats(random, rows));
    v = backend.upload(GemmBenchmark.randomFloats(random, rows));
    out = backend.allocate(DataType.F32, rows);
  }

  @TearDown
  public void tearDown() {
    backend.close();
  }

  @Benchmark
  public void encoderSelfAttention(GemmBenchmark.Flops flops) {
    backend.attention(AttentionType.ENCODER, spec, q, k, v, out, metadata);
    flops.gflop += 4.0 * SEQUENCES * length * length * HEADS * HEAD_DIM / 1e9;
  }
}
