package dev.tandem.core.engine;

/**
 * An engine's counters.
 *
 * @param steps steps run (prefill and decode)
 * @param prefillSteps of which prefills
 * @param totalGpuBlocks blocks in the KV cache
 * @param freeGpuBlocks blocks free now
 * @param peakGpuBlocksUsed the most blocks in use after any scheduling decision
 * @param totalCpuBlocks blocks in the host swap pool
 * @param freeCpuBlocks swap blocks free now
 * @param stepNanos time spent in {@link Engine#step}, in total
 * @param modelNanos of which in the model (block copies, forward pass, reading the logits back);
 *     the rest is scheduling, sampling, detokenization and output building
 * @param stepsChosenOnDevice steps whose tokens the backend chose (greedily or sampled), reading
 *     back one id and log-probability per row instead of the logits
 * @param positionsRun token positions the steps ran: one per step, except multi-step decode steps
 *     (num-scheduler-steps), which run up to that many
 */
public record EngineStats(
    SchedulerStats scheduler,
    long steps,
    long prefillSteps,
    int totalGpuBlocks,
    int freeGpuBlocks,
    int peakGpuBlocksUsed,
    int totalCpuBlocks,
    int freeCpuBlocks,
    long stepNanos,
    long modelNanos,
    long stepsChosenOnDevice,
    long positionsRun) {}
