package dev.tandem.benchmarks.blockmanager;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * {@link EngineStepBenchmark#step()} timed by the CPU time of the thread running it, for machines
 * too busy for wall-clock JMH figures to mean much. Arguments: manager names (default v1 v2).
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar \
 *     dev.tandem.benchmarks.blockmanager.EngineStepCpuTime v1 v2</pre>
 */
public final class EngineStepCpuTime {

  private static final int WARMUP_STEPS = 20_000;
  private static final int STEPS_PER_ROUND = 20_000;
  private static final int ROUNDS = 3;

  private EngineStepCpuTime() {}

  public static void main(String[] args) {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    for (String name : args.length > 0 ? args : new String[] {"v1", "v2"}) {
      EngineStepBenchmark benchmark = new EngineStepBenchmark();
      benchmark.manager = name;
      benchmark.setUp();
      for (int i = 0; i < WARMUP_STEPS; i++) {
        benchmark.step();
      }
      for (int round = 0; round < ROUNDS; round++) {
        long cpuStart = threads.getCurrentThreadCpuTime();
        long wallStart = System.nanoTime();
        for (int i = 0; i < STEPS_PER_ROUND; i++) {
          benchmark.step();
        }
        double cpuMicros = (threads.getCurrentThreadCpuTime() - cpuStart) / 1e3 / STEPS_PER_ROUND;
        double wallMicros = (System.nanoTime() - wallStart) / 1e3 / STEPS_PER_ROUND;
        System.out.printf(
            "%s: %.1f us CPU, %.1f us wall per engine step%n", name, cpuMicros, wallMicros);
      }
    }
  }
}
