package dev.tandem.benchmarks.opencl;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.DataType;
import dev.tandem.api.backend.DeviceTensor;
import dev.tandem.benchmarks.BenchBackends;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The opencl backend beside the cpu backend on the operations that dominate a t5-small step: the
 * linear layers at prefill (128 tokens) and decode (1 and 32 rows), the logits projection, and one
 * tiny element-wise op, whose time is the launch overhead. Results are read back, so asynchronous
 * work is counted. Run: {@code java -jar benchmarks/target/benchmarks.jar BackendGemmBenchmark
 * -jvmArgs "--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED"}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class BackendGemmBenchmark {

  @Param({"cpu", "opencl"})
  public String backend;

  /** rows x inDim x outDim. */
  @Param({"128x512x2048", "1x512x2048", "32x512x2048", "32x512x32128"})
  public String shape;

  private AttentionBackend b;
  private int rows;
  private int inDim;
  private int outDim;
  private DeviceTensor x;
  private DeviceTensor w;
  private DeviceTensor y;
  private DeviceTensor small;
  private final float[] sink = new float[1];

  @Setup(Level.Trial)
  public void setUp() {
    b = BenchBackends.open(backend, Map.of());
    String[] dims = shape.split("x");
    rows = Integer.parseInt(dims[0]);
    inDim = Integer.parseInt(dims[1]);
    outDim = Integer.parseInt(dims[2]);
    Random random = new Random(1);
    x = b.upload(randoms(random, rows * inDim));
    w = b.upload(randoms(random, outDim * inDim));
    y = b.allocate(DataType.F32, (long) rows * outDim);
    small = b.upload(randoms(random, 512));
  }

  private static float[] randoms(Random random, int n) {
    float[] values = new float[n];
    for (int i = 0; i < n; i++) {
      values[i] = (float) random.nextGaussian();
    }
    return values;
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    b.close();
  }

  /** One linear layer; GFLOP/s = 2 · rows · inDim · outDim / time. */
  @Benchmark
  public float linear() {
    b.linear(x, rows, inDim, w, null, outDim, y);
    b.read(y, 0, sink, 0, 1);
    return sink[0];
  }

  /** 512 additions: the cost of one launch. */
  @Benchmark
  public float launch() {
    b.add(small, small, 512, small);
    b.read(small, 0, sink, 0, 1);
    return sink[0];
  }
}
