package dev.tandem.core.config;

import static java.util.Objects.requireNonNull;

import java.util.OptionalInt;

/**
 * Per-step budgets of the scheduler.
 *
 * @param maxNumSeqs sequences per step
 * @param maxNumBatchedTokens tokens per step; empty: {@link #batchedTokenBudget(int)} decides
 * @param maxModelLen longest prompt + output; empty: the model's own limit
 * @param preemption how running groups are preempted when blocks run out
 * @param numSchedulerSteps decode positions a step may run before the next scheduling decision
 *     (vLLM's multi-step scheduling): the backend feeds each chosen token back as the next input,
 *     and the engine checks the stop conditions afterwards; 1 schedules every token
 */
public record SchedulerConfig(
    int maxNumSeqs,
    OptionalInt maxNumBatchedTokens,
    OptionalInt maxModelLen,
    PreemptionMode preemption,
    int numSchedulerSteps) {

  /** The token budget used when {@code max-num-batched-tokens} is not set (as vLLM). */
  public static final int DEFAULT_MIN_BATCHED_TOKENS = 2048;

  public SchedulerConfig {
    requireNonNull(maxNumBatchedTokens, "maxNumBatchedTokens is null");
    requireNonNull(maxModelLen, "maxModelLen is null");
    requireNonNull(preemption, "preemption is null");
    if (numSchedulerSteps < 1) {
      throw new IllegalArgumentException(
          "numSchedulerSteps=" + numSchedulerSteps + ": must be >= 1");
    }
    if (maxNumSeqs < 1) {
      throw new IllegalArgumentException("maxNumSeqs=" + maxNumSeqs + ": must be >= 1");
    }
  }

  /**
   * Tokens per step: {@code maxNumBatchedTokens} if set, else {@code max(modelLen, 2048)} so that a
   * full-length prompt always fits in one step.
   *
   * @param modelLen the effective maximum model length
   */
  public int batchedTokenBudget(int modelLen) {
    return maxNumBatchedTokens.orElse(Math.max(modelLen, DEFAULT_MIN_BATCHED_TOKENS));
  }
}
