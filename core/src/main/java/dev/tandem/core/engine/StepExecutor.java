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
   * Whether {@link #executeChoosing} can run more than one position per step (multi-step decoding,
   * {@code num-scheduler-steps}).
   */
  default boolean supportsMultiStep() {
    return false;
  }

  /**
   * Runs a step whose rows' tokens are chosen where the logits are (the caller checked which rows
   * need nothing else; it decides the others itself from {@link #logitsOfRows}, and gives them
   * placeholder greedy settings here): greedily when {@code sampling} is null (ids[r] = the argmax
   * of row r, logprobs[r] = its log-softmax), else drawn with {@code sampling[0]}'s row r; rows as
   * {@link #execute} orders them. A decode step may ask for {@code positions} > 1 (only of an
   * executor that {@link #supportsMultiStep}, within the step's lookahead slots): then each row's
   * chosen token is fed back as its next input, position after position, without the caller in
   * between; position j's tokens are ids[j * rows + r], drawn with {@code sampling[j]}. An executor
   * that cannot returns false without running anything, and the caller runs {@link #execute}
   * instead; one that cannot sample must say so in {@link #samplesOnDevice}.
   */
  default boolean executeChoosing(
      SchedulerOutput step, int positions, SamplingRows[] sampling, int[] ids, float[] logprobs) {
    return false;
  }

  /**
   * After an {@link #executeChoosing} of one position: the logits of {@code count} of its rows
   * (indices in {@code rows}), row r at r × {@link #vocabSize} of the returned array, for the rows
   * the host's sampler decides; valid until the next call.
   */
  float[] logitsOfRows(int[] rows, int count);

  /** Frees the model's device memory and KV cache. */
  @Override
  void close();
}
