package dev.tandem.core.config;

/** A KV cache or swap pool size, given either as a number of blocks or as bytes. */
public sealed interface CacheSize {

  /**
   * The number of blocks this size holds.
   *
   * @param bytesPerBlock bytes one block takes in the pool (all layers, K and V)
   */
  int blocks(long bytesPerBlock);

  /** A size in blocks. */
  record Blocks(int count) implements CacheSize {
    public Blocks {
      if (count < 0) {
        throw new IllegalArgumentException("count=" + count + ": must be >= 0");
      }
    }

    @Override
    public int blocks(long bytesPerBlock) {
      return count;
    }
  }

  /** A size in bytes, rounded down to whole blocks. */
  record Bytes(long count) implements CacheSize {
    public Bytes {
      if (count < 0) {
        throw new IllegalArgumentException("count=" + count + ": must be >= 0");
      }
    }

    @Override
    public int blocks(long bytesPerBlock) {
      if (bytesPerBlock < 1) {
        throw new IllegalArgumentException("bytesPerBlock=" + bytesPerBlock + ": must be >= 1");
      }
      return (int) Math.min(Integer.MAX_VALUE, count / bytesPerBlock);
    }
  }
}
