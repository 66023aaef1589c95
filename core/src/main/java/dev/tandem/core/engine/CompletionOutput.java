package dev.tandem.core.engine;

import static java.util.Objects.requireNonNull;

import dev.tandem.core.sampling.PositionLogprobs;
import java.util.Arrays;
import java.util.List;

/**
 * One output sequence of a request, as far as it got.
 *
 * @param index its position among the request's outputs (0 .. n-1)
 * @param text the generated text so far (without a matched stop string)
 * @param tokenIds the generated token ids, without the decoder prompt
 * @param cumulativeLogprob sum of the generated tokens' log-probabilities
 * @param score beam search: HuggingFace's sequence score (length-penalized); else the cumulative
 *     log-probability
 * @param logprobs per generated token, when {@code logprobs} was requested; else null
 * @param finishReason null while the sequence is still running
 * @param finishMessage ERROR: what went wrong; STOP: the stop string or the stop token id that
 *     ended it (null for EOS); else null
 */
public record CompletionOutput(
    int index,
    String text,
    int[] tokenIds,
    double cumulativeLogprob,
    double score,
    List<PositionLogprobs> logprobs,
    FinishReason finishReason,
    String finishMessage) {

  public CompletionOutput {
    requireNonNull(text, "text is null");
    tokenIds = requireNonNull(tokenIds, "tokenIds is null").clone();
    logprobs = logprobs == null ? null : List.copyOf(logprobs);
  }

  @Override
  public int[] tokenIds() {
    return tokenIds.clone();
  }

  public boolean finished() {
    return finishReason != null;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CompletionOutput other
        && index == other.index
        && text.equals(other.text)
        && Arrays.equals(tokenIds, other.tokenIds)
        && Double.compare(cumulativeLogprob, other.cumulativeLogprob) == 0
        && Double.compare(score, other.score) == 0
        && java.util.Objects.equals(logprobs, other.logprobs)
        && finishReason == other.finishReason
        && java.util.Objects.equals(finishMessage, other.finishMessage);
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(tokenIds) + text.hashCode();
  }

  @Override
  public String toString() {
    return "CompletionOutput[index=%d, text=%s, tokenIds=%s, cumulativeLogprob=%s, finishReason=%s%s]"
        .formatted(
            index,
            text,
            Arrays.toString(tokenIds),
            cumulativeLogprob,
            finishReason,
            finishMessage == null ? "" : ", " + finishMessage);
  }
}
