package dev.tandem.core.engine;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.core.checkpoint.GenerationConfig;
import dev.tandem.core.config.PreemptionMode;
import dev.tandem.core.tokenizer.Tokenizer;

/**
 * Everything an {@link Engine} is assembled from, for callers that build the parts themselves
 * (tests, embedders); {@link Engine#create} assembles them from an {@code EngineConfig}.
 *
 * @param executor runs steps on the model; closed with the engine
 * @param blocks the block manager over the executor's KV cache
 * @param cache the block manager's configuration (block size, pool sizes, watermark)
 * @param tokenizer the model's tokenizer; closed with the engine
 * @param generation the model's generation defaults
 * @param maxModelLen the longest encoder prompt and the longest decoder sequence
 * @param maxNumSeqs decoder sequences per step
 * @param maxNumBatchedTokens encoder plus decoder tokens per prefill step
 * @param preemption how groups with one unfinished sequence are preempted
 * @param samplingThreads threads that sample a step's rows (the rows are independent)
 * @param numSchedulerSteps decode positions a step may run before the engine schedules again
 *     (vLLM's multi-step scheduling; 1: every token)
 */
public record EngineParts(
    StepExecutor executor,
    BlockSpaceManager blocks,
    BlockManagerConfig cache,
    Tokenizer tokenizer,
    GenerationConfig generation,
    int maxModelLen,
    int maxNumSeqs,
    int maxNumBatchedTokens,
    PreemptionMode preemption,
    int samplingThreads,
    int numSchedulerSteps) {

  public EngineParts {
    requireNonNull(executor, "executor is null");
    requireNonNull(blocks, "blocks is null");
    requireNonNull(cache, "cache is null");
    requireNonNull(tokenizer, "tokenizer is null");
    requireNonNull(generation, "generation is null");
    requireNonNull(preemption, "preemption is null");
    if (maxModelLen < 2) {
      throw new IllegalArgumentException("maxModelLen=" + maxModelLen + ": must be at least 2");
    }
    if (numSchedulerSteps < 1) {
      throw new IllegalArgumentException(
          "numSchedulerSteps=" + numSchedulerSteps + ": must be at least 1");
    }
    if (samplingThreads < 1) {
      throw new IllegalArgumentException(
          "samplingThreads=" + samplingThreads + ": must be at least 1");
    }
  }
}
