package dev.tandem.core.engine;

import dev.tandem.api.backend.SamplingRows;

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
   * Whether {@link #executeChoosing} can draw sampled rows ({@link
   * dev.tandem.api.backend.AttentionBackend#sample}), not only greedy ones.
   */
  default boolean samplesOnDevice() {
    return false;
  }

  /**
   * Runs a step whose every row's token is chosen where the logits are (the caller checked that
   * each row needs nothing else): greedily when {@code sampling} is null (ids[r] = the argmax of
   * row r, logprobs[r] = its log-softmax), else drawn with {@code sampling}'s row r; rows as {@link
   * #execute} orders them. An executor that cannot returns false without running anything, and the
   * caller runs {@link #execute} instead; one that cannot sample must say so in {@link
   * #samplesOnDevice}.
   */
  default boolean executeChoosing(
      SchedulerOutput step, SamplingRows sampling, int[] ids, float[] logprobs) {
    return false;
  }

  /** Frees the model's device memory and KV cache. */
  @Override
  void close();
}
