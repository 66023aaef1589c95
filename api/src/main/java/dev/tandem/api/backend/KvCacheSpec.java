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

  /**
   * Fails unless {@code slot} (a token's position in the device pools, block · blockSize + offset)
   * is inside them; {@code token} names it in the message, which starts with {@code backend}.
   */
  public void checkSlot(String backend, int slot, int token) {
    long slotCount = (long) numBlocks * blockSize;
    if (slot < 0 || slot >= slotCount) {
      throw new IllegalArgumentException(
          backend
              + ": slot "
              + slot
              + " of token "
              + token
              + " outside the KV cache's 0.."
              + (slotCount - 1));
    }
  }

  /** Fails unless {@code block} is a device block; {@code what} names its role in the message. */
  public void checkBlock(String backend, int block, String what) {
    if (block < 0 || block >= numBlocks) {
      throw new IllegalArgumentException(
          backend
              + ": "
              + what
              + " block "
              + block
              + " outside the KV cache's 0.."
              + (numBlocks - 1));
    }
  }

  /** Fails unless {@code block} is a block of the host swap pool. */
  public void checkSwapBlock(String backend, int block) {
    if (block < 0 || block >= numSwapBlocks) {
      throw new IllegalArgumentException(
          backend + ": swap block " + block + " outside the swap pool's 0.." + (numSwapBlocks - 1));
    }
  }
}
