package dev.tandem.api.backend;

/**
 * Shape of the paged KV cache: per decoder layer one K pool and one V pool of {@code (numBlocks,
 * blockSize, numHeads, headDim)} float32 on the device, and the same on the host with {@code
 * numSwapBlocks} for swapping. Self- and cross-attention blocks share the pools.
 */
public record KvCacheSpec(
    int numLayers, int numBlocks, int numSwapBlocks, int blockSize, int numHeads, int headDim) {

  public KvCacheSpec {
    if (numLayers < 1
        || numBlocks < 1
        || numSwapBlocks < 0
        || blockSize < 1
        || numHeads < 1
        || headDim < 1) {
      throw new IllegalArgumentException("invalid KV cache shape: " + this);
    }
  }

  /** Bytes one block takes across all layers, K and V. */
  public static long bytesPerBlock(int numLayers, int blockSize, int numHeads, int headDim) {
    return 2L * numLayers * blockSize * numHeads * headDim * DataType.F32.bytes();
  }

  public long bytesPerBlock() {
    return bytesPerBlock(numLayers, blockSize, numHeads, headDim);
  }

  /** Values in one block of one layer's K (or V) pool. */
  public int blockElements() {
    return blockSize * numHeads * headDim;
  }
}
