package dev.tandem.core.engine;

/**
 * Running totals of a scheduler's decisions.
 *
 * @param preemptions groups preempted, by either mode
 * @param recomputations preemptions by recompute
 * @param swapOuts preemptions by swapping out
 * @param swapIns groups swapped back in
 * @param failed groups finished because they could not run
 */
public record SchedulerStats(
    long preemptions, long recomputations, long swapOuts, long swapIns, long failed) {}
