package dev.tandem.benchmarks.cpu;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.BackendConfig;
import dev.tandem.api.backend.DataType;
import dev.tandem.api.backend.DeviceTensor;
import dev.tandem.backend.cpu.CpuBackendProvider;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Map;
import java.util.Random;

/**
 * GEMM throughput per CPU-second, for machines where other processes compete for the cores (JMH's
 * wall-clock rate then measures the competition). Runs the {@link GemmBenchmark} shapes on 2
 * threads and divides the work by the CPU time the calling thread and the backend's worker threads
 * ("tandem-cpu-*") consumed; twice that is what 2 uncontended cores would deliver.
 *
 * <p>{@code java --add-modules jdk.incubator.vector -cp benchmarks/target/benchmarks.jar
 * dev.tandem.benchmarks.cpu.GemmCpuTime}
 */
public final class GemmCpuTime {

  private static final int[] ROWS = {1, 32, 256};
  private static final int[] SIZES = {512, 1024, 2048};

  private GemmCpuTime() {}

  public static void main(String[] args) {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    try (AttentionBackend backend =
        new CpuBackendProvider().create(new BackendConfig(2, Map.of()))) {
      System.out.println("m\tk=n\tGFLOP/s (wall)\tGFLOP per CPU-second\t2 x that");
      Random random = new Random(1);
      for (int kn : SIZES) {
        for (int m : ROWS) {
          DeviceTensor x = backend.upload(GemmBenchmark.randomFloats(random, m * kn));
          DeviceTensor w = backend.upload(GemmBenchmark.randomFloats(random, kn * kn));
          DeviceTensor y = backend.allocate(DataType.F32, (long) m * kn);
          double flop = 2.0 * m * kn * kn;
          double bestWall = 0;
          double bestCpu = 0;
          // Five rounds of about two seconds each; the first warms the JIT up.
          for (int round = 0; round < 6; round++) {
            long cpu0 = cpuNanos(threads);
            long wall0 = System.nanoTime();
            int calls = 0;
            while (System.nanoTime() - wall0 < 2_000_000_000L) {
              backend.linear(x, m, kn, w, null, kn, y);
              calls++;
            }
            long wall = System.nanoTime() - wall0;
            long cpu = cpuNanos(threads) - cpu0;
            if (round > 0) {
              bestWall = Math.max(bestWall, calls * flop / wall);
              bestCpu = Math.max(bestCpu, calls * flop / cpu);
            }
          }
          System.out.printf("%d\t%d\t%.1f\t%.1f\t%.1f%n", m, kn, bestWall, bestCpu, 2 * bestCpu);
          backend.free(x);
          backend.free(w);
          backend.free(y);
        }
      }
    }
  }

  /** CPU time of this thread and the backend's workers. */
  private static long cpuNanos(ThreadMXBean threads) {
    long total = threads.getCurrentThreadCpuTime();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().startsWith("tandem-cpu-")) {
        total += Math.max(0, threads.getThreadCpuTime(t.threadId()));
      }
    }
    return total;
  }
}
