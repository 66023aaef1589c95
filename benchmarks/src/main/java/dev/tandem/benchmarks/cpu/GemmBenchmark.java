package dev.tandem.benchmarks.cpu;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.BackendConfig;
import dev.tandem.api.backend.DataType;
import dev.tandem.api.backend.DeviceTensor;
import dev.tandem.backend.cpu.CpuBackendProvider;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
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
 * The CPU backend's float32 GEMM, y(m, n) = x(m, k) · w(n, k)ᵀ with k = n, on 2 threads. Besides
 * calls per second JMH reports the secondary metric {@code gflop}: an {@link AuxCounters} field
 * that each call raises by 2·m·k·n / 10⁹, so its rate is GFLOP/s.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class GemmBenchmark {

  @Param({"1", "32", "256"})
  public int m;

  @Param({"512", "1024", "2048"})
  public int kn;

  private AttentionBackend backend;
  private DeviceTensor x;
  private DeviceTensor w;
  private DeviceTensor y;

  /** GFLOP done, as a rate: GFLOP/s. */
  @AuxCounters(AuxCounters.Type.OPERATIONS)
  @State(Scope.Thread)
  public static class Flops {
    public double gflop;

    @Setup(Level.Iteration)
    public void reset() {
      gflop = 0;
    }
  }

  @Setup
  public void setUp() {
    backend = new CpuBackendProvider().create(new BackendConfig(2, Map.of()));
    Random random = new Random(1);
    x = backend.upload(randomFloats(random, m * kn));
    w = backend.upload(randomFloats(random, kn * kn));
    y = backend.allocate(DataType.F32, (long) m * kn);
  }

  /**
   * x(m, k) and w(n, k) random, y(m, n) allocated, on a backend: linear's operands at one shape.
   */
  public record Operands(DeviceTensor x, DeviceTensor w, DeviceTensor y) {
    public static Operands upload(AttentionBackend backend, Random random, int m, int k, int n) {
      return new Operands(
          backend.upload(randomFloats(random, m * k)),
          backend.upload(randomFloats(random, n * k)),
          backend.allocate(DataType.F32, (long) m * n));
    }

    public void free(AttentionBackend backend) {
      backend.free(x);
      backend.free(w);
      backend.free(y);
    }
  }

  /**
   * A GEMM shape {@code MxKxN} from a command line (y(m, n) = x(m, k) · w(n, k)ᵀ) as {m, k, n};
   * anything else is refused naming {@code flags}, the command's other arguments.
   */
  public static int[] parseShape(String arg, String flags) {
    String[] parts = arg.split("x");
    if (parts.length != 3) {
      throw new IllegalArgumentException(
          arg + ": expected " + flags + " or a shape MxKxN, e.g. 256x512x2048");
    }
    return new int[] {
      Integer.parseInt(parts[0]), Integer.parseInt(parts[1]), Integer.parseInt(parts[2])
    };
  }

  public static float[] randomFloats(Random random, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) random.nextGaussian();
    }
    return a;
  }

  @TearDown
  public void tearDown() {
    backend.close();
  }

  @Benchmark
  public void linear(Flops flops) {
    backend.linear(x, m, kn, w, null, kn, y);
    flops.gflop += 2.0 * m * kn * kn / 1e9;
  }
}
