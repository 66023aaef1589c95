package dev.tandem.cli;

import dev.tandem.core.checkpoint.ConfigJson;
import dev.tandem.core.config.CacheConfig;
import dev.tandem.core.config.CacheSize;
import dev.tandem.core.config.EngineConfig;
import java.util.Optional;

/**
 * The KV cache of a {@code generate} run on the cpu backend when no configuration layer sized it.
 *
 * <p>The engine's default, a share of the device's free memory, suits a GPU. On the cpu backend the
 * device is this JVM's heap: taking most of it costs seconds of zeroing for a few prompts (and the
 * default host swap space comes on top). There the cache instead holds the run's sequences, at most
 * {@value #MAX_SEQUENCES} at once, each with max-model-len self-attention and cross-attention
 * tokens; the swap space holds as many blocks, unless one was configured. Longer runs queue or
 * preempt, as they would with any cache size.
 */
final class KvCacheDefaults {

  /** Sequences a default cpu cache holds at full length. */
  static final int MAX_SEQUENCES = 16;

  /** T5 (relative positions) declares no maximum; its tokenizers cap inputs at 512 tokens. */
  private static final int RELATIVE_POSITIONS_LEN = 512;

  private KvCacheDefaults() {}

  /**
   * {@code config} with a workload-sized KV cache when {@code backend} is "cpu" and neither
   * num-kv-blocks nor kv-cache-memory is set.
   *
   * @param sequences the decoder sequences the run has in all (requests × max(n, num_beams))
   */
  static EngineConfig forWorkload(EngineConfig config, String backend, int sequences) {
    CacheConfig cache = config.cache();
    if (!backend.equals("cpu") || cache.kvCache().isPresent()) {
      return config;
    }
    int blocksPerSequence = 2 * ceilDiv(maxModelLen(config), cache.blockSize());
    int blocks =
        Math.min(Math.max(sequences, 1), Math.min(MAX_SEQUENCES, config.scheduler().maxNumSeqs()))
                * blocksPerSequence
            + 1;
    CacheSize swap =
        cache.swapSpace().equals(EngineConfig.defaults().cache().swapSpace())
            ? new CacheSize.Blocks(blocks)
            : cache.swapSpace();
    return new EngineConfig(
        config.model(),
        config.backend(),
        config.blockManager(),
        config.pluginsDirectory(),
        new CacheConfig(
            cache.blockSize(),
            Optional.of(new CacheSize.Blocks(blocks)),
            cache.gpuMemoryUtilization(),
            swap,
            cache.watermark(),
            cache.enablePrefixCaching()),
        config.scheduler(),
        config.numThreads(),
        config.backendOptions());
  }

  /** max-model-len if set, else the model's learned positions, else T5's 512. */
  private static int maxModelLen(EngineConfig config) {
    if (config.scheduler().maxModelLen().isPresent()) {
      return config.scheduler().maxModelLen().getAsInt();
    }
    ConfigJson json = ConfigJson.read(config.model().resolve("config.json"));
    return json.optInt("max_position_embeddings")
        .orElse(json.optInt("n_positions").orElse(RELATIVE_POSITIONS_LEN));
  }

  private static int ceilDiv(int a, int b) {
    return (a + b - 1) / b;
  }
}
