package dev.tandem.core.sampling;

/**
 * A token chosen for one sequence.
 *
 * @param token the token, or {@link TokenRules#NONE} in {@link #NONE_ALLOWED}
 * @param logprob its log-probability under the processed distribution
 * @param logprobs the requested top log-probabilities, or null when none were requested
 */
public record SampledToken(int token, double logprob, PositionLogprobs logprobs) {

  /** No token: the request's bans (no_repeat_ngram_size, bad words) leave none allowed. */
  public static final SampledToken NONE_ALLOWED =
      new SampledToken(TokenRules.NONE, Double.NEGATIVE_INFINITY, null);
}
