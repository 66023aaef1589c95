package dev.tandem.api.block;

/**
 * @param blockSize tokens per block
 * @param numGpuBlocks blocks in the device pool (the KV cache)
 * @param numCpuBlocks blocks in the host swap pool
 * @param watermark fraction of device blocks kept free at allocation, to avoid immediate eviction
 * @param enablePrefixCaching share blocks of identical prefixes by content hash
 */
public record BlockManagerConfig(
    int blockSize,
    int numGpuBlocks,
    int numCpuBlocks,
    double watermark,
    boolean enablePrefixCaching) {

  public static final double DEFAULT_WATERMARK = 0.01;

  public BlockManagerConfig {
    if (blockSize < 1) {
      throw new IllegalArgumentException("blockSize=" + blockSize + ": must be at least 1");
    }
    if (numGpuBlocks < 0 || numCpuBlocks < 0) {
      throw new IllegalArgumentException(
          "block counts must be >= 0: numGpuBlocks="
              + numGpuBlocks
              + ", numCpuBlocks="
              + numCpuBlocks);
    }
    if (!(watermark >= 0 && watermark < 1)) {
      throw new IllegalArgumentException("watermark=" + watermark + ": must be in [0, 1)");
    }
  }
}
