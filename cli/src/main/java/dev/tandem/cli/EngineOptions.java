package dev.tandem.cli;

import dev.tandem.core.config.EngineConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The engine's configuration flags, shared by the commands that build an engine. Each flag is a key
 * of {@link EngineConfig#resolve}: a flag given on the command line wins over the system property
 * {@code tandem.<key>}, the environment variable {@code TANDEM_<KEY>}, the properties file and the
 * defaults, in that order. Unset flags leave the lower layers alone.
 */
final class EngineOptions {

  @Option(
      names = "--model",
      paramLabel = "DIR",
      description = "HuggingFace checkpoint directory (default: the bundled models/numwords-t5)")
  Path model;

  @Option(
      names = "--backend",
      paramLabel = "NAME",
      description = "attention backend: cpu, opencl, cuda, or auto (default: auto)")
  String backend;

  @Option(
      names = "--block-manager",
      paramLabel = "NAME",
      description = "block space manager: v1 or v2 (default: v2)")
  String blockManager;

  @Option(
      names = "--plugins",
      paramLabel = "DIR",
      description = "plugins directory (default: the distribution's plugins/)")
  Path plugins;

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description = "properties file with configuration keys (default: ./tandem.properties)")
  Path config;

  @Option(names = "--block-size", paramLabel = "TOKENS", description = "tokens per KV block")
  Integer blockSize;

  @Option(
      names = "--num-kv-blocks",
      paramLabel = "N",
      description = "KV cache size in blocks (default: what fits the device memory)")
  Integer numKvBlocks;

  @Option(
      names = "--kv-cache-memory",
      paramLabel = "BYTES",
      description = "KV cache size in bytes, e.g. 512m (instead of --num-kv-blocks)")
  String kvCacheMemory;

  @Option(
      names = "--gpu-memory-utilization",
      paramLabel = "FRACTION",
      description = "share of free device memory for the KV cache, in (0, 1]")
  Double gpuMemoryUtilization;

  @Option(names = "--swap-blocks", paramLabel = "N", description = "host swap space in blocks")
  Integer swapBlocks;

  @Option(names = "--swap-space", paramLabel = "BYTES", description = "host swap space in bytes")
  String swapSpace;

  @Option(names = "--watermark", paramLabel = "FRACTION", description = "blocks kept free")
  Double watermark;

  @Option(names = "--enable-prefix-caching", description = "share cached prefix blocks")
  Boolean enablePrefixCaching;

  @Option(names = "--max-num-seqs", paramLabel = "N", description = "sequences per step")
  Integer maxNumSeqs;

  @Option(names = "--max-num-batched-tokens", paramLabel = "N", description = "tokens per step")
  Integer maxNumBatchedTokens;

  @Option(names = "--max-model-len", paramLabel = "N", description = "longest sequence")
  Integer maxModelLen;

  @Option(
      names = "--preemption",
      paramLabel = "MODE",
      description = "what to do when the KV cache is full: recompute or swap")
  String preemption;

  @Mixin MultiStepOption multiStep;

  @Option(
      names = "--num-threads",
      paramLabel = "N",
      description = "host threads for the backend (default: one per processor)")
  Integer numThreads;

  @Option(
      names = "--backend-option",
      paramLabel = "KEY=VALUE",
      description = "a backend-specific option, e.g. opencl.device=1 (repeatable)")
  Map<String, String> backendOptions = new LinkedHashMap<>();

  /** The flags that were given, by configuration key. */
  Map<String, String> flags() {
    Map<String, String> flags = new LinkedHashMap<>();
    put(flags, "model", model);
    put(flags, "backend", backend);
    put(flags, "block-manager", blockManager);
    put(flags, "plugins", plugins);
    put(flags, "block-size", blockSize);
    put(flags, "num-kv-blocks", numKvBlocks);
    put(flags, "kv-cache-memory", kvCacheMemory);
    put(flags, "gpu-memory-utilization", gpuMemoryUtilization);
    put(flags, "swap-blocks", swapBlocks);
    put(flags, "swap-space", swapSpace);
    put(flags, "watermark", watermark);
    put(flags, "enable-prefix-caching", enablePrefixCaching);
    put(flags, "max-num-seqs", maxNumSeqs);
    put(flags, "max-num-batched-tokens", maxNumBatchedTokens);
    put(flags, "max-model-len", maxModelLen);
    put(flags, "preemption", preemption);
    multiStep.putInto(flags);
    put(flags, "num-threads", numThreads);
    backendOptions.forEach((key, value) -> flags.put("backend." + key, value));
    return flags;
  }

  /**
   * The configuration of this process, with the distribution's defaults where no layer set a value:
   * the bundled model in place of core's relative default, and the distribution's plugins.
   *
   * @throws IllegalArgumentException if {@code --config} names no file, or the model directory is
   *     missing (naming it)
   * @throws dev.tandem.core.config.ConfigException for an invalid value (naming its key and origin)
   */
  EngineConfig resolve() {
    EngineConfig resolved =
        withDistributionDefaults(
            EngineConfig.resolve(flags(), Optional.ofNullable(config)), Home.current());
    if (!Files.isDirectory(resolved.model())) {
      throw new IllegalArgumentException(
          "model directory "
              + resolved.model().toAbsolutePath().normalize()
              + " does not exist; pass --model DIR with a HuggingFace checkpoint directory"
              + " (config.json, model.safetensors, tokenizer.json)");
    }
    return resolved;
  }

  /**
   * {@code config} with the distribution's bundled model when the model is core's default and does
   * not exist relative to the working directory, and its plugins when none are configured.
   */
  static EngineConfig withDistributionDefaults(EngineConfig config, Optional<Home> home) {
    if (home.isEmpty()) {
      return config;
    }
    Path model = config.model();
    if (model.equals(EngineConfig.defaults().model()) && !Files.isDirectory(model)) {
      model = home.get().bundledModel().orElse(model);
    }
    Optional<Path> plugins = config.pluginsDirectory().or(() -> home.get().plugins());
    return new EngineConfig(
        model,
        config.backend(),
        config.blockManager(),
        plugins,
        config.cache(),
        config.scheduler(),
        config.numThreads(),
        config.backendOptions());
  }

  private static void put(Map<String, String> flags, String key, Object value) {
    if (value != null) {
      flags.put(key, value.toString());
    }
  }
}
