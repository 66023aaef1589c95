package dev.tandem.benchmarks.cpu;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.BackendConfig;
import dev.tandem.backend.cpu.CpuBackendProvider;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * GEMM throughput per CPU-second, for machines where other processes compete for the cores (JMH's
 * wall-clock rate then measures the competition). Runs the {@link GemmBenchmark} shapes on 2
 * threads (or {@code --threads T}) and divides the work by the CPU time the calling thread and the
 * backend's worker threads ("tandem-cpu-*") consumed; T times that is what T uncontended cores
 * would deliver. Also prints the wall time per call, which for a decode step's small GEMVs is
 * mostly the cost of handing a loop to T threads.
 *
 * <p>{@code java --add-modules jdk.incubator.vector -cp benchmarks/target/benchmarks.jar
 * dev.tandem.benchmarks.cpu.GemmCpuTime [--threads T] [--round-seconds S] [MxKxN ...]}
 */
public final class GemmCpuTime {

  private static final int[] ROWS = {1, 32, 256};
  private static final int[] SIZES = {512, 1024, 2048};

  private GemmCpuTime() {}

  /**
   * @param args {@code --threads T} (default 2), {@code --round-seconds S} (default 2; six rounds,
   *     the first a warm-up, the best of the others reported), then shapes {@code MxKxN} to run
   *     (y(m, n) = x(m, k) · w(n, k)ᵀ); none: the {@link GemmBenchmark} grid, m in {1, 32, 256} and
   *     k = n in {512, 1024, 2048}
   */
  public static void main(String[] args) {
    List<int[]> shapes = new ArrayList<>();
    int threadCount = 2;
    double roundSeconds = 2;
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (arg.equals("--threads") && i + 1 < args.length) {
        threadCount = Integer.parseInt(args[++i]);
        continue;
      }
      if (arg.equals("--round-seconds") && i + 1 < args.length) {
        roundSeconds = Double.parseDouble(args[++i]);
        continue;
      }
      shapes.add(GemmBenchmark.parseShape(arg, "--threads T, --round-seconds S"));
    }
    if (shapes.isEmpty()) {
      for (int kn : SIZES) {
        for (int m : ROWS) {
          shapes.add(new int[] {m, kn, kn});
        }
      }
    }
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    try (AttentionBackend backend =
        new CpuBackendProvider().create(new BackendConfig(threadCount, Map.of()))) {
      long roundNanos = (long) (roundSeconds * 1e9);
      System.out.printf(
          "threads\tm\tk\tn\tus/call (wall)\tGFLOP/s (wall)\tGFLOP per CPU-second\t%d x that%n",
          threadCount);
      Random random = new Random(1);
      for (int[] shape : shapes) {
        int m = shape[0];
        int k = shape[1];
        int n = shape[2];
        GemmBenchmark.Operands operands = GemmBenchmark.Operands.upload(backend, random, m, k, n);
        double flop = 2.0 * m * k * n;
        double bestWall = 0;
        double bestCpu = 0;
        // Six rounds; the first warms the JIT up.
        for (int round = 0; round < 6; round++) {
          long cpu0 = cpuNanos(threads);
          long wall0 = System.nanoTime();
          int calls = 0;
          while (System.nanoTime() - wall0 < roundNanos) {
            backend.linear(operands.x(), m, k, operands.w(), null, n, operands.y());
            calls++;
          }
          long wall = System.nanoTime() - wall0;
          long cpu = cpuNanos(threads) - cpu0;
          if (round > 0) {
            bestWall = Math.max(bestWall, calls * flop / wall);
            bestCpu = Math.max(bestCpu, calls * flop / cpu);
          }
        }
        System.out.printf(
            "%d\t%d\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f%n",
            threadCount,
            m,
            k,
            n,
            flop / bestWall / 1e3, // bestWall is in flop per ns
            bestWall,
            bestCpu,
            threadCount * bestCpu);
        operands.free(backend);
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
