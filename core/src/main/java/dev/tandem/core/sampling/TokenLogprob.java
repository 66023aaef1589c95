package dev.tandem.core.sampling;

/**
 * One token's log-probability under the distribution it was sampled from.
 *
 * @param rank 1 for the most likely token
 */
public record TokenLogprob(int token, double logprob, int rank) {}
