package dev.tandem.core.engine;

import static java.util.Objects.requireNonNull;

import java.util.Arrays;
import java.util.List;

/**
 * The state of one request after a step: partial while {@code finished} is false (streaming), final
 * once it is true. Every request yields exactly one finished output.
 *
 * @param prompt the encoder prompt's text, or null when it was given as token ids
 * @param promptTokenIds the encoder prompt's token ids (empty if the request was rejected first)
 * @param outputs one per output sequence; beam search gives the best n hypotheses at the end
 */
public record RequestOutput(
    String requestId,
    String prompt,
    int[] promptTokenIds,
    List<CompletionOutput> outputs,
    boolean finished,
    RequestMetrics metrics) {

  public RequestOutput {
    requireNonNull(requestId, "requestId is null");
    promptTokenIds = requireNonNull(promptTokenIds, "promptTokenIds is null").clone();
    outputs = List.copyOf(outputs);
    requireNonNull(metrics, "metrics is null");
  }

  @Override
  public int[] promptTokenIds() {
    return promptTokenIds.clone();
  }

  /** The first output sequence (the best one for beam search). */
  public CompletionOutput first() {
    return outputs.getFirst();
  }

  /** Whether the request ended in error; the outputs' finishMessage says why. */
  public boolean failed() {
    return finished && outputs.stream().anyMatch(o -> o.finishReason() == FinishReason.ERROR);
  }

  @Override
  public String toString() {
    return "RequestOutput[%s, finished=%s, promptTokenIds=%s, outputs=%s]"
        .formatted(requestId, finished, Arrays.toString(promptTokenIds), outputs);
  }
}
