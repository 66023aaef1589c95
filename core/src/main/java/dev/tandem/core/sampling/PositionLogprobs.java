package dev.tandem.core.sampling;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * The log-probabilities requested with {@code logprobs=k} for one generated position: the chosen
 * token and the k most likely ones, best first (the chosen token may be among them).
 */
public record PositionLogprobs(TokenLogprob chosen, List<TokenLogprob> top) {

  public PositionLogprobs {
    requireNonNull(chosen, "chosen is null");
    top = List.copyOf(requireNonNull(top, "top is null"));
  }
}
