/**
 * The end-to-end benchmark: random-weight checkpoints by shape preset, a fixed greedy workload, and
 * its figures (used by {@code tandem bench}).
 */
package dev.tandem.core.bench;
