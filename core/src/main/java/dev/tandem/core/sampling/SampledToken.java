package dev.tandem.core.sampling;

/**
 * A token chosen for one sequence.
 *
 * @param logprob its log-probability under the processed distribution
 * @param logprobs the requested top log-probabilities, or null when none were requested
 */
public record SampledToken(int token, double logprob, PositionLogprobs logprobs) {}
