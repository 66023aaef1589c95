package dev.tandem.benchmarks.opencl;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.DataType;
import dev.tandem.api.backend.DeviceTensor;
import dev.tandem.benchmarks.BenchBackends;
import java.util.Map;
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
 * The cost of a small op on the opencl backend with its op queue off (each op one Aparapi launch)
 * and on (the ops of a sequence as passes of one launch): {@code ops} element-wise additions over
 * 512 floats, then one float read back, as in a decode step whose ~100 ops end in one read. Time
 * per sequence; divide by {@code ops} for the cost of an op. Run: {@code java -jar
 * benchmarks/target/benchmarks.jar OpenClQueueBenchmark -jvmArgs "--add-modules
 * jdk.incubator.vector --enable-native-access=ALL-UNNAMED"}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class OpenClQueueBenchmark {

  @Param({"false", "true"})
  public String queue;

  @Param({"1", "100"})
  public int ops;

  private AttentionBackend b;
  private DeviceTensor x;
  private final float[] sink = new float[1];

  @Setup(Level.Trial)
  public void setUp() {
    b = BenchBackends.open("opencl", Map.of("opencl.queue", queue));
    x = b.allocate(DataType.F32, 512);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    b.close();
  }

  @Benchmark
  public float sequence() {
    for (int i = 0; i < ops; i++) {
      b.add(x, x, 512, x);
    }
    b.read(x, 0, sink, 0, 1);
    return sink[0];
  }
}
