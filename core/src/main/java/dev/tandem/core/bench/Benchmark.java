package dev.tandem.core.bench;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.sequence.OutputKind;
import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.core.config.EngineConfig;
import dev.tandem.core.engine.Engine;
import dev.tandem.core.engine.Request;
import dev.tandem.core.engine.RequestOutput;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * The end-to-end benchmark of {@code tandem bench}: builds an engine from the configuration, warms
 * it up with one run of the same workload, then adds all B requests at once and steps until they
 * finish, timing every step.
 */
public final class Benchmark {

  private Benchmark() {}

  /** Runs one configuration on a fresh engine. */
  public static BenchmarkResult run(BenchmarkConfig config) {
    requireNonNull(config, "config is null");
    Path model =
        config.model() != null
            ? config.model()
            : RandomCheckpoint.ensure(config.preset(), config.checkpointCache());
    try (Engine engine = Engine.create(engineConfig(config, model))) {
      // The whole workload once first, as benchmarks/peers/hf_generate.py does for HuggingFace: a
      // short warm-up left the JIT compiling during the measured run (cpu, t5-small, B = 1: time
      // to first token 240-250 ms after 1 request of 8 tokens, 150-160 ms after the full run).
      measure(engine, config, config.batchSize(), config.outputLength());
      return measure(engine, config, config.batchSize(), config.outputLength());
    }
  }

  /** The engine configuration: defaults sized to the workload, then the caller's flags. */
  static EngineConfig engineConfig(BenchmarkConfig config, Path model) {
    int blockSize = 16;
    int perRequest =
        ceilDiv(config.inputLength(), blockSize) + ceilDiv(config.outputLength() + 1, blockSize);
    Map<String, String> flags = new HashMap<>();
    flags.put("model", model.toString());
    flags.put("block-size", String.valueOf(blockSize));
    int beams = config.sampling().numBeams(); // each beam is a sequence with its own blocks
    flags.put("num-kv-blocks", String.valueOf(perRequest * config.batchSize() * beams + 16));
    flags.put("swap-blocks", "64");
    flags.put("max-num-seqs", String.valueOf(Math.max(config.batchSize(), 1) * beams));
    int needed = Math.max(config.inputLength(), config.outputLength() + 1);
    if (needed > 512) {
      flags.put("max-model-len", String.valueOf(needed)); // above T5's default of 512
    }
    flags.putAll(config.engineFlags());
    return EngineConfig.resolve(flags, Optional.empty(), Map.of(), Map.of());
  }

  private static BenchmarkResult measure(
      Engine engine, BenchmarkConfig config, int batchSize, int outputLength) {
    SplittableRandom random = new SplittableRandom(config.seed());
    int vocab = Math.min(engine.vocabSize(), 30_000);
    SamplingParams.Builder params =
        config
            .sampling()
            .params()
            .maxTokens(outputLength)
            .minTokens(outputLength)
            .ignoreEos(true)
            .outputKind(OutputKind.FINAL_ONLY); // as vLLM's throughput benchmark (LLM.generate)
    long peakBefore = engine.stats().peakGpuBlocksUsed();
    long stepNanosBefore = engine.stats().stepNanos();
    long stepsBefore = engine.stats().steps();
    long chosenBefore = engine.stats().stepsChosenOnDevice();
    long modelNanosBefore = engine.stats().modelNanos();
    long cpuBefore = processCpuNanos();
    long preemptionsBefore = engine.stats().scheduler().preemptions();
    long start = System.nanoTime();
    for (int i = 0; i < batchSize; i++) {
      int[] prompt = random.ints(config.inputLength(), 3, vocab).toArray();
      SamplingParams seeded = params.seed(config.seed() * 1_000_003 + i).build();
      engine.addRequest(Request.ofTokens("bench-" + start + "-" + i, prompt, seeded));
    }
    List<Long> decodeSteps = new ArrayList<>();
    long decodePositions = 0;
    long prefillNanos = 0;
    List<RequestOutput> finished = new ArrayList<>();
    while (engine.hasUnfinished()) {
      long prefills = engine.stats().prefillSteps();
      long positions = engine.stats().positionsRun();
      long stepStart = System.nanoTime();
      List<RequestOutput> outputs = engine.step();
      long elapsed = System.nanoTime() - stepStart;
      if (engine.stats().prefillSteps() > prefills) {
        prefillNanos += elapsed;
      } else {
        decodeSteps.add(elapsed);
        decodePositions += engine.stats().positionsRun() - positions;
      }
      outputs.stream().filter(RequestOutput::finished).forEach(finished::add);
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    double cpuSeconds = (processCpuNanos() - cpuBefore) / 1e9;
    long generated = 0;
    double[] ttft = new double[finished.size()];
    for (int i = 0; i < finished.size(); i++) {
      RequestOutput out = finished.get(i);
      if (out.failed()) {
        throw new IllegalStateException("benchmark request failed: " + out.first().finishMessage());
      }
      generated += out.first().tokenIds().length;
      ttft[i] = out.metrics().timeToFirstToken().toNanos() / 1e6;
    }
    long[] steps = decodeSteps.stream().mapToLong(Long::longValue).sorted().toArray();
    double stepP50 = percentile(steps, 0.50) / 1e6;
    double positionsPerStep = steps.length == 0 ? 1 : decodePositions / (double) steps.length;
    double gflops =
        config.model() == null && stepP50 > 0
            ? config.preset().decodeFlopsPerToken()
                * batchSize
                * positionsPerStep
                / (stepP50 / 1e3)
                / 1e9
            : 0;
    Arrays.sort(ttft);
    var stats = engine.stats();
    long stepNanos = stats.stepNanos() - stepNanosBefore;
    long hostNanos = stepNanos - (stats.modelNanos() - modelNanosBefore);
    double overhead = stepNanos == 0 ? 0 : hostNanos / (double) stepNanos;
    long stepCount = stats.steps() - stepsBefore;
    double hostMsPerStep = stepCount == 0 ? 0 : hostNanos / 1e6 / stepCount;
    int threads = threads(config);
    return new BenchmarkResult(
        config.modelName(),
        batchSize,
        config.inputLength(),
        outputLength,
        config.sampling().label(),
        generated,
        seconds,
        generated / seconds,
        Arrays.stream(ttft).average().orElse(0),
        percentile(ttft, 0.5),
        percentile(ttft, 0.99),
        stepP50,
        percentile(steps, 0.99) / 1e6,
        prefillNanos / 1e6,
        (int) Math.max(stats.peakGpuBlocksUsed(), peakBefore),
        stats.totalGpuBlocks(),
        stats.scheduler().preemptions() - preemptionsBefore,
        gflops,
        overhead,
        hostMsPerStep,
        stepCount == 0 ? 0 : (stats.stepsChosenOnDevice() - chosenBefore) / (double) stepCount,
        positionsPerStep,
        cpuSeconds / (seconds * threads),
        engine.device(),
        machine());
  }

  private static long processCpuNanos() {
    return ProcessHandle.current()
        .info()
        .totalCpuDuration()
        .map(java.time.Duration::toNanos)
        .orElse(0L);
  }

  /** The backend's thread count: num-threads, or one per processor when unset or 0. */
  private static int threads(BenchmarkConfig config) {
    int n = Integer.parseInt(config.engineFlags().getOrDefault("num-threads", "0"));
    return n > 0 ? n : Runtime.getRuntime().availableProcessors();
  }

  /** The machine in words: CPU model, cores, OS, Java. */
  public static String machine() {
    String cpu = System.getProperty("os.arch");
    try {
      Path cpuinfo = Path.of("/proc/cpuinfo");
      if (Files.isReadable(cpuinfo)) {
        cpu =
            Files.readAllLines(cpuinfo).stream()
                .filter(line -> line.startsWith("model name"))
                .map(line -> line.substring(line.indexOf(':') + 1).trim())
                .findFirst()
                .orElse(cpu);
      }
    } catch (IOException e) {
      // keep the architecture alone
    }
    return cpu
        + ", "
        + Runtime.getRuntime().availableProcessors()
        + " cores, "
        + System.getProperty("os.name")
        + ", Java "
        + Runtime.version();
  }

  private static double percentile(long[] sorted, double q) {
    if (sorted.length == 0) {
      return 0;
    }
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)];
  }

  private static double percentile(double[] sorted, double q) {
    if (sorted.length == 0) {
      return 0;
    }
    return sorted[Math.max(0, Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1))];
  }

  private static int ceilDiv(int a, int b) {
    return (a + b - 1) / b;
  }

  /**
   * Runs the benchmark from the command line: {@code Benchmark PRESET B L O [key=value ...]}, e.g.
   * {@code t5-small 32 128 128 num-threads=2}; prints the table, then the JSON.
   */
  public static void main(String[] args) {
    if (args.length < 4) {
      System.err.println("usage: Benchmark PRESET|MODEL_DIR B[,B...] L O [key=value ...]");
      System.exit(2);
    }
    Map<String, String> flags = new HashMap<>();
    for (int i = 4; i < args.length; i++) {
      String[] kv = args[i].split("=", 2);
      flags.put(kv[0], kv.length > 1 ? kv[1] : "true");
    }
    Path dir = Path.of(args[0]);
    List<BenchmarkResult> results = new ArrayList<>();
    for (String b : args[1].split(",")) {
      BenchmarkConfig config =
          new BenchmarkConfig(
              Files.isDirectory(dir) ? dir : null,
              Files.isDirectory(dir) ? null : ModelPreset.byName(args[0]),
              Integer.parseInt(b),
              Integer.parseInt(args[2]),
              Integer.parseInt(args[3]),
              flags,
              RandomCheckpoint.defaultCache(),
              1,
              BenchmarkSampling.GREEDY);
      results.add(run(config));
      System.out.print(BenchmarkResult.table(List.of(results.getLast())));
    }
    System.out.print(BenchmarkResult.table(results));
    System.out.println(BenchmarkResult.json(results));
  }
}
