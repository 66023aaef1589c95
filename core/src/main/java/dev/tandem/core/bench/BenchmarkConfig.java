package dev.tandem.core.bench;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.Map;

/**
 * One benchmark run: {@code batchSize} prompts of {@code inputLength} random token ids, each
 * generating exactly {@code outputLength} tokens (EOS ignored, min_tokens = max_tokens), greedy
 * unless {@code sampling} says otherwise.
 *
 * @param model a checkpoint directory, or null to use {@code preset}'s random-weight checkpoint
 * @param preset the shape preset (used when {@code model} is null)
 * @param engineFlags engine configuration keys ({@code backend}, {@code num-threads}, {@code
 *     num-kv-blocks}, ...) on top of the benchmark's defaults
 * @param checkpointCache where preset checkpoints are written and reused
 * @param seed for the random prompts and the sampled requests' seeds
 * @param sampling how the requests choose tokens
 */
public record BenchmarkConfig(
    Path model,
    ModelPreset preset,
    int batchSize,
    int inputLength,
    int outputLength,
    Map<String, String> engineFlags,
    Path checkpointCache,
    long seed,
    BenchmarkSampling sampling) {

  public BenchmarkConfig {
    if (model == null) {
      requireNonNull(preset, "preset is null and no model directory is given");
    }
    engineFlags = Map.copyOf(requireNonNull(engineFlags, "engineFlags is null"));
    requireNonNull(checkpointCache, "checkpointCache is null");
    requireNonNull(sampling, "sampling is null");
    if (batchSize < 1 || inputLength < 1 || outputLength < 1) {
      throw new IllegalArgumentException(
          "batch size, input length and output length must be at least 1: B="
              + batchSize
              + ", L="
              + inputLength
              + ", O="
              + outputLength);
    }
  }

  /** A preset run with the default cache and no extra flags. */
  public static BenchmarkConfig of(
      ModelPreset preset, int batchSize, int inputLength, int outputLength) {
    return new BenchmarkConfig(
        null,
        preset,
        batchSize,
        inputLength,
        outputLength,
        Map.of(),
        RandomCheckpoint.defaultCache(),
        1,
        BenchmarkSampling.GREEDY);
  }

  public BenchmarkConfig withFlags(Map<String, String> flags) {
    return new BenchmarkConfig(
        model,
        preset,
        batchSize,
        inputLength,
        outputLength,
        flags,
        checkpointCache,
        seed,
        sampling);
  }

  public BenchmarkConfig withSampling(BenchmarkSampling choice) {
    return new BenchmarkConfig(
        model,
        preset,
        batchSize,
        inputLength,
        outputLength,
        engineFlags,
        checkpointCache,
        seed,
        choice);
  }

  /** The model's name in reports: the preset or the directory's name. */
  public String modelName() {
    return model != null ? model.getFileName().toString() : preset.label();
  }
}
