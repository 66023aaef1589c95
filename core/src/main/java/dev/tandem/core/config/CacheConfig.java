package dev.tandem.core.config;

import static java.util.Objects.requireNonNull;

import java.util.Optional;

/**
 * The paged KV cache.
 *
 * @param blockSize tokens per block
 * @param kvCache the device pool's size; empty: {@code gpuMemoryUtilization} of the backend's free
 *     memory once the weights are loaded
 * @param gpuMemoryUtilization fraction of free device memory the KV cache may take when {@code
 *     kvCache} is empty, in (0, 1]
 * @param swapSpace the host swap pool's size
 * @param watermark fraction of device blocks kept free at allocation, in [0, 1)
 * @param enablePrefixCaching share blocks of identical prefixes by content hash
 */
public record CacheConfig(
    int blockSize,
    Optional<CacheSize> kvCache,
    double gpuMemoryUtilization,
    CacheSize swapSpace,
    double watermark,
    boolean enablePrefixCaching) {

  public CacheConfig {
    requireNonNull(kvCache, "kvCache is null");
    requireNonNull(swapSpace, "swapSpace is null");
    if (blockSize < 1) {
      throw new IllegalArgumentException("blockSize=" + blockSize + ": must be >= 1");
    }
    if (!(gpuMemoryUtilization > 0 && gpuMemoryUtilization <= 1)) {
      throw new IllegalArgumentException(
          "gpuMemoryUtilization=" + gpuMemoryUtilization + ": must be in (0, 1]");
    }
    if (!(watermark >= 0 && watermark < 1)) {
      throw new IllegalArgumentException("watermark=" + watermark + ": must be in [0, 1)");
    }
  }
}
