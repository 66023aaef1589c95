package dev.tandem.core.config;

/**
 * How the scheduler frees blocks when a running group cannot grow: {@code RECOMPUTE} drops the
 * group's blocks and prefills it again later, {@code SWAP} moves them to the host swap pool. A
 * group with several sequences (beams, samples) cannot be recomputed and is always swapped.
 */
public enum PreemptionMode {
  RECOMPUTE,
  SWAP
}
