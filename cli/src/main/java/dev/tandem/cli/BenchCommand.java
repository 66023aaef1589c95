package dev.tandem.cli;

import dev.tandem.core.bench.Benchmark;
import dev.tandem.core.bench.BenchmarkConfig;
import dev.tandem.core.bench.BenchmarkResult;
import dev.tandem.core.bench.BenchmarkSampling;
import dev.tandem.core.bench.ModelPreset;
import dev.tandem.core.bench.RandomCheckpoint;
import dev.tandem.core.config.EngineConfig;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code tandem bench}: the engine's end-to-end benchmark. NUM_PROMPTS requests of INPUT_LEN random
 * token ids are added at once, each generating exactly OUTPUT_LEN tokens (EOS ignored), at most
 * BATCH sequences per step; a warm-up run of the same workload comes first.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Benchmarks generation: a preset's shape with random weights, or a checkpoint directory.",
      "Prints generated tokens/s, time to first token, decode step latency (p50, p99), KV"
          + " blocks used and preemptions, and the device and machine it ran on."
    })
final class BenchCommand implements Callable<Integer> {

  /** Either a preset or a model directory. */
  static final class ModelChoice {
    @Option(
        names = "--preset",
        paramLabel = "NAME",
        description =
            "random-weight model of a known shape: t5-small, t5-base, flan-t5-small, bart-base,"
                + " bart-large (default: t5-small)")
    String preset;

    @Option(names = "--model", paramLabel = "DIR", description = "a checkpoint directory")
    Path model;
  }

  @Spec CommandSpec spec;

  @ArgGroup(exclusive = true)
  ModelChoice modelChoice = new ModelChoice();

  @Option(
      names = "--batch",
      paramLabel = "B",
      description = "requests per step (default: 8), each of --num-beams sequences")
  int batch = 8;

  @Option(names = "--input-len", paramLabel = "L", description = "prompt tokens (default: 32)")
  int inputLen = 32;

  @Option(names = "--output-len", paramLabel = "O", description = "generated tokens (default: 32)")
  int outputLen = 32;

  @Option(
      names = "--num-prompts",
      paramLabel = "N",
      description = "requests (default: BATCH); more than BATCH queue")
  Integer numPrompts;

  @Option(names = "--backend", paramLabel = "NAME", description = "cpu, opencl, cuda or auto")
  String backend;

  @Option(names = "--block-manager", paramLabel = "NAME", description = "v1 or v2")
  String blockManager;

  @Option(
      names = "--num-threads",
      paramLabel = "N",
      description = "host threads for the backend (default: one per processor)")
  Integer numThreads;

  @Option(names = "--plugins", paramLabel = "DIR", description = "plugins directory")
  Path plugins;

  @Option(
      names = "--backend-option",
      paramLabel = "KEY=VALUE",
      description = "a backend-specific option, e.g. cuda.device-sampling=false (repeatable)")
  Map<String, String> backendOptions = new LinkedHashMap<>();

  @Mixin MultiStepOption multiStep;

  @Option(
      names = "--max-num-batched-tokens",
      paramLabel = "N",
      description = "tokens per prefill step (default: max(max-model-len, 2048))")
  Integer maxNumBatchedTokens;

  @Option(names = "--seed", paramLabel = "SEED", description = "for the random prompts")
  long seed = 1;

  @Option(
      names = "--temperature",
      paramLabel = "T",
      description = "sample at this temperature (default: 0, greedy)")
  double temperature;

  @Option(names = "--top-p", paramLabel = "P", description = "with --temperature (default: 1)")
  double topP = 1;

  @Option(
      names = "--top-k",
      paramLabel = "K",
      description = "with --temperature (default: -1, all)")
  int topK = -1;

  @Option(names = "--num-beams", paramLabel = "N", description = "beam search (default: 1, none)")
  int numBeams = 1;

  @Option(names = "--json", description = "print the result as JSON instead of a table")
  boolean json;

  @Override
  public Integer call() {
    if (batch < 1 || inputLen < 1 || outputLen < 1 || (numPrompts != null && numPrompts < 1)) {
      throw new ParameterException(
          spec.commandLine(),
          "--batch, --input-len, --output-len and --num-prompts must be at least 1");
    }
    ModelPreset preset = null;
    if (modelChoice.model != null) {
      if (!Files.isDirectory(modelChoice.model)) {
        throw new IllegalArgumentException(
            "model directory "
                + modelChoice.model.toAbsolutePath().normalize()
                + " does not exist");
      }
    } else {
      try {
        preset = ModelPreset.byName(modelChoice.preset == null ? "t5-small" : modelChoice.preset);
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), e.getMessage());
      }
    }
    BenchmarkConfig config =
        new BenchmarkConfig(
            modelChoice.model,
            preset,
            numPrompts == null ? batch : numPrompts,
            inputLen,
            outputLen,
            engineFlags(),
            RandomCheckpoint.defaultCache(),
            seed,
            sampling());
    BenchmarkResult result = Benchmark.run(config);
    PrintWriter out = spec.commandLine().getOut();
    out.print(
        json
            ? BenchmarkResult.json(List.of(result)) + "\n"
            : BenchmarkResult.table(List.of(result)));
    out.flush();
    return 0;
  }

  private BenchmarkSampling sampling() {
    try {
      return new BenchmarkSampling(temperature, topP, topK, numBeams);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
  }

  /**
   * The engine flags on top of the benchmark's workload-sized defaults: backend, block manager,
   * threads, plugins and backend options resolved as for {@code generate} (flag, system property,
   * environment, tandem.properties, default).
   */
  private Map<String, String> engineFlags() {
    Map<String, String> given = new LinkedHashMap<>();
    put(given, "backend", backend);
    put(given, "block-manager", blockManager);
    put(given, "num-threads", numThreads);
    put(given, "plugins", plugins);
    multiStep.putInto(given);
    put(given, "max-num-batched-tokens", maxNumBatchedTokens);
    backendOptions.forEach((key, value) -> given.put("backend." + key, value));
    EngineConfig resolved =
        EngineOptions.withDistributionDefaults(
            EngineConfig.resolve(given, Optional.empty()), Home.current());
    Map<String, String> flags = new LinkedHashMap<>();
    flags.put("max-num-seqs", String.valueOf(batch * numBeams)); // a beam is a sequence
    flags.put("backend", resolved.backend());
    flags.put("block-manager", resolved.blockManager());
    flags.put("num-threads", String.valueOf(resolved.numThreads()));
    flags.put("num-scheduler-steps", String.valueOf(resolved.scheduler().numSchedulerSteps()));
    resolved
        .scheduler()
        .maxNumBatchedTokens()
        .ifPresent(tokens -> flags.put("max-num-batched-tokens", String.valueOf(tokens)));
    resolved.pluginsDirectory().ifPresent(dir -> flags.put("plugins", dir.toString()));
    resolved.backendOptions().forEach((key, value) -> flags.put("backend." + key, value));
    return flags;
  }

  private static void put(Map<String, String> flags, String key, Object value) {
    if (value != null) {
      flags.put(key, value.toString());
    }
  }
}
