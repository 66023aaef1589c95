package dev.tandem.blockmanager.v1;

import dev.tandem.api.sequence.Sequence;

/**
 * Content hashes of a decoder sequence's complete blocks for prefix caching. Block i's hash is
 * chained from block i−1's and covers block i's tokens, so it identifies the whole prefix up to the
 * end of block i (as vLLM's hash of all tokens up to there) in O(blockSize) per block. Partial
 * blocks get no content hash: they are still being written.
 *
 * <p>Content hashes are negative (sign bit set) so they never collide with the allocator's unique
 * keys for unshareable blocks, which count up from 0. Two different prefixes colliding in the other
 * 63 bits would share a block wrongly; with a 64-bit mix this is as unlikely as in vLLM.
 */
final class ContentHash {

  private static final long SEED = 0x5851F42D4C957F2DL;

  private ContentHash() {}

  /** The hashes of the sequence's first {@code numBlocks} blocks, all complete. */
  static long[] ofBlocks(Sequence seq, int blockSize, int numBlocks) {
    if (numBlocks * blockSize > seq.length()) {
      throw new IllegalArgumentException(
          "sequence " + seq.id() + " has fewer than " + numBlocks + " complete blocks");
    }
    long[] hashes = new long[numBlocks];
    long previous = SEED;
    for (int block = 0; block < numBlocks; block++) {
      long h = previous;
      for (int i = block * blockSize; i < (block + 1) * blockSize; i++) {
        // One multiply-rotate round per token (MurmurHash3's body), finalized below per block.
        h = Long.rotateLeft(h ^ (seq.tokenAt(i) * 0x87C37B91114253D5L), 31) * 0x4CF5AD432745937FL;
      }
      previous = finish(h);
      hashes[block] = previous | Long.MIN_VALUE;
    }
    return hashes;
  }

  /** The hash of the sequence's block {@code blockIndex}. */
  static long ofBlock(Sequence seq, int blockSize, int blockIndex) {
    return ofBlocks(seq, blockSize, blockIndex + 1)[blockIndex];
  }

  static void check(long contentHash) {
    if (contentHash >= 0) {
      throw new IllegalArgumentException(
          contentHash + " is not a content hash: content hashes are negative");
    }
  }

  // MurmurHash3's 64-bit finalizer: every input bit affects every output bit.
  private static long finish(long h) {
    h ^= h >>> 33;
    h *= 0xFF51AFD7ED558CCDL;
    h ^= h >>> 33;
    h *= 0xC4CEB93FE66D1A53L;
    return h ^ (h >>> 33);
  }
}
