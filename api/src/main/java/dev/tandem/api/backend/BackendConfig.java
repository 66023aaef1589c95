package dev.tandem.api.backend;

import java.util.Map;
import java.util.Objects;

/**
 * @param numThreads host threads a backend may use; 0 means one per available processor
 * @param options backend-specific settings by key, e.g. {@code opencl.device=1}, {@code
 *     cuda.tf32=true}; each backend documents and validates its own keys
 */
public record BackendConfig(int numThreads, Map<String, String> options) {

  public BackendConfig {
    if (numThreads < 0) {
      throw new IllegalArgumentException("numThreads=" + numThreads + ": must be >= 0");
    }
    options = Map.copyOf(Objects.requireNonNull(options, "options is null"));
  }

  public static BackendConfig defaults() {
    return new BackendConfig(0, Map.of());
  }

  /** The thread count to use: {@code numThreads}, or the available processors when it is 0. */
  public int resolvedThreads() {
    return numThreads > 0 ? numThreads : Runtime.getRuntime().availableProcessors();
  }

  public String option(String key, String defaultValue) {
    return options.getOrDefault(key, defaultValue);
  }
}
