package dev.tandem.core.engine;

/**
 * The engine's view of the model: runs one scheduled step — block swaps and copies first, then the
 * forward pass — and returns the logits of the step's RUNNING decoder sequences (at prefill, of
 * each group's last decoder prompt token), rows in order of the step's groups, then of each group's
 * RUNNING sequences. Implemented over the {@code ModelRunner}; tests may substitute a toy model.
 */
public interface StepExecutor extends AutoCloseable {

  /** The device the model runs on, in words (for reports). */
  default String device() {
    return "unknown device";
  }

  /** Entries per logits row. */
  int vocabSize();

  /**
   * Runs the step.
   *
   * @return row-major {@code (rows, vocabSize)} logits, possibly longer; valid until the next call
   */
  float[] execute(SchedulerOutput step);

  /**
   * Runs a step whose every row is decided greedily (the caller checked), choosing the tokens where
   * the logits are: ids[r] = the argmax of row r, logprobs[r] = its log-softmax, rows as {@link
   * #execute} orders them. An executor that cannot returns false without running anything, and the
   * caller runs {@link #execute} instead.
   */
  default boolean executeGreedy(SchedulerOutput step, int[] ids, float[] logprobs) {
    return false;
  }

  /** Frees the model's device memory and KV cache. */
  @Override
  void close();
}
