package dev.tandem.blockmanager.v2.block;

import dev.tandem.api.sequence.Sequence;

/**
 * 64-bit content hashes for prefix caching. A block's hash covers its tokens and, through its
 * predecessor's hash, every token before it, back to a root: {@link #DECODER_ONLY_ROOT} for a
 * decoder-only request, or the hash of the encoder input for an encoder/decoder request, whose
 * decoder KV depends on that input through cross-attention. Identical decoder prompts with
 * different encoder inputs therefore never share blocks.
 *
 * <p>Not cryptographic: equal hashes are taken to mean equal content, as vLLM does (a collision
 * between two 64-bit hashes of different prefixes is negligible outside adversarial inputs).
 */
public final class ContentHash {

  /** The root of every chain of a request without encoder input. */
  public static final long DECODER_ONLY_ROOT = 0x6A09E667F3BCC908L;

  private static final long ENCODER_SEED = 0xBB67AE8584CAA73BL;
  private static final long MULTIPLIER = 0x9E3779B97F4A7C15L;

  private ContentHash() {}

  /** The root of the decoder chains of a request with this encoder input (possibly empty). */
  public static long ofEncoderInput(Sequence encoderSequence) {
    return chain(ENCODER_SEED, encoderSequence, 0, encoderSequence.length());
  }

  /** The hash of tokens {@code [from, to)} of the sequence, chained from {@code previous}. */
  public static long chain(long previous, Sequence seq, int from, int to) {
    long h = previous;
    for (int i = from; i < to; i++) {
      h = mix(h ^ (seq.tokenAt(i) & 0xFFFFFFFFL) * MULTIPLIER);
    }
    return mix(h ^ (to - from));
  }

  /** MurmurHash3's 64-bit finalizer: every input bit affects every output bit. */
  private static long mix(long h) {
    h ^= h >>> 33;
    h *= 0xFF51AFD7ED558CCDL;
    h ^= h >>> 33;
    h *= 0xC4CEB9FE1A85EC53L;
    h ^= h >>> 33;
    return h;
  }
}
