package dev.tandem.core.engine;

/** Why an output sequence ended, as vLLM names it. */
public enum FinishReason {
  /** EOS, a stop token id, a stop string, or beam search's end. */
  STOP,
  /** {@code max_tokens} or the model's maximum length. */
  LENGTH,
  /** Aborted by the caller. */
  ABORT,
  /** The request could not be served; the output's message says why. */
  ERROR;

  /** vLLM's lower-case name: "stop", "length", "abort", "error". */
  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
