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
 */
public record EngineStats(
    SchedulerStats scheduler,
    long steps,
    long prefillSteps,
    int totalGpuBlocks,
    int freeGpuBlocks,
    int peakGpuBlocksUsed,
    int totalCpuBlocks,
    int freeCpuBlocks) {}
