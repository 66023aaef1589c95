package dev.tandem.core.model;

/**
 * The largest step a model's activation buffers are sized for; they are allocated once, at load.
 *
 * @param maxBatchedTokens encoder tokens, and separately decoder tokens, in one step
 * @param maxSequences decoder sequences in one step: the logits rows of a normal step
 */
public record ModelLimits(int maxBatchedTokens, int maxSequences) {

  public ModelLimits {
    if (maxBatchedTokens < 1 || maxSequences < 1) {
      throw new IllegalArgumentException(
          "maxBatchedTokens="
              + maxBatchedTokens
              + ", maxSequences="
              + maxSequences
              + ": both must be at least 1");
    }
    if (maxSequences > maxBatchedTokens) {
      throw new IllegalArgumentException(
          "maxSequences="
              + maxSequences
              + " exceeds maxBatchedTokens="
              + maxBatchedTokens
              + ": every sequence needs at least one token in a step");
    }
  }
}
