package dev.tandem.core.config;

import java.util.Optional;

/** The configuration keys, with their defaults (as text, parsed like any other layer's value). */
enum ConfigKey {
  MODEL("model", "models/numwords-t5"),
  BACKEND("backend", EngineConfig.AUTO),
  BLOCK_MANAGER("block-manager", "v2"),
  PLUGINS("plugins", null),
  BLOCK_SIZE("block-size", "16"),
  NUM_KV_BLOCKS("num-kv-blocks", null),
  KV_CACHE_MEMORY("kv-cache-memory", null),
  GPU_MEMORY_UTILIZATION("gpu-memory-utilization", "0.9"),
  SWAP_BLOCKS("swap-blocks", null),
  SWAP_SPACE("swap-space", "1g"),
  WATERMARK("watermark", "0.01"),
  ENABLE_PREFIX_CACHING("enable-prefix-caching", "false"),
  MAX_NUM_SEQS("max-num-seqs", "256"),
  MAX_NUM_BATCHED_TOKENS("max-num-batched-tokens", null),
  MAX_MODEL_LEN("max-model-len", null),
  PREEMPTION("preemption", "recompute"),
  NUM_SCHEDULER_STEPS("num-scheduler-steps", "1"),
  NUM_THREADS("num-threads", "0");

  /**
   * Keys {@code backend.<option>} pass {@code <option>} to the backend ({@code
   * backend.opencl.device=1}); each backend validates its own options.
   */
  static final String BACKEND_OPTION_PREFIX = "backend.";

  private final String key;
  private final String defaultValue;

  ConfigKey(String key, String defaultValue) {
    this.key = key;
    this.defaultValue = defaultValue;
  }

  String key() {
    return key;
  }

  Optional<String> defaultValue() {
    return Optional.ofNullable(defaultValue);
  }

  static Optional<ConfigKey> byKey(String key) {
    for (ConfigKey candidate : values()) {
      if (candidate.key.equals(key)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }
}
