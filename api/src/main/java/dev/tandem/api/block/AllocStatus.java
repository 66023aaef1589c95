package dev.tandem.api.block;

/** Whether a group's blocks can be allocated (or swapped in) now, later, or never. */
public enum AllocStatus {
  /** Enough free blocks above the watermark now. */
  OK,
  /** Not now, but the pool is large enough once other groups free their blocks. */
  LATER,
  /** The group needs more blocks than the pool has (minus the watermark): it can never run. */
  NEVER
}
