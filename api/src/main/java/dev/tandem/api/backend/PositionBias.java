package dev.tandem.api.backend;

import java.util.Objects;

/**
 * T5's relative position bias, added to attention scores inside the attention kernel: score(q, k)
 * += table[bucket(kPos − qPos), head]. Buckets follow HuggingFace's {@code
 * T5Attention._relative_position_bucket}: half the buckets exact, half logarithmic up to
 * maxDistance; bidirectional splits them by sign, causal uses only non-positive distances.
 *
 * @param table (numBuckets, numHeads) float32
 */
public record PositionBias(
    DeviceTensor table, int numBuckets, int maxDistance, boolean bidirectional) {

  public PositionBias {
    Objects.requireNonNull(table, "table is null");
  }

  /** HuggingFace's bucket for relativePosition = kPos − qPos (reference for every backend). */
  public static int bucket(
      int relativePosition, boolean bidirectional, int numBuckets, int maxDistance) {
    int bucket = 0;
    int n = numBuckets;
    int rel = relativePosition;
    if (bidirectional) {
      n /= 2;
      if (rel > 0) {
        bucket += n;
      }
      rel = Math.abs(rel);
    } else {
      rel = -Math.min(rel, 0);
    }
    int maxExact = n / 2;
    if (rel < maxExact) {
      return bucket + rel;
    }
    // float32 arithmetic and truncation toward zero, exactly as torch computes it
    float scaled =
        (float) Math.log((float) rel / maxExact)
            / (float) Math.log((float) maxDistance / maxExact)
            * (n - maxExact);
    int large = maxExact + (int) scaled;
    return bucket + Math.min(large, n - 1);
  }
}
