package dev.tandem.api.sequence;

/**
 * Which outputs a request produces while it runs, as vLLM's {@code RequestOutputKind}.
 *
 * <p>{@link #FINAL_ONLY} is for callers that only want the result (vLLM's offline {@code
 * LLM.generate} sets it): no output per step, and no incremental detokenization unless a stop
 * string needs the text; the final text is the tokenizer's decode of all generated ids, as always.
 */
public enum OutputKind {
  /** An output per step with everything generated so far (streaming). */
  CUMULATIVE,
  /** One output, when the request finishes. */
  FINAL_ONLY
}
