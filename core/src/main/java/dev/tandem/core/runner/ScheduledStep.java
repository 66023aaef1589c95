package dev.tandem.core.runner;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.block.BlockMapping;
import dev.tandem.api.sequence.SequenceGroup;
import java.util.List;

/**
 * One step the scheduler chose: the groups to run, all prefill or all decode, and the block copies
 * the backend must make first.
 *
 * @param prefill true: each group's encoder runs and its single RUNNING decoder sequence is
 *     computed from scratch; false: one new token per RUNNING decoder sequence
 * @param groups the groups to run; only their RUNNING decoder sequences take part
 * @param swapIn (cpu block, gpu block) pairs from {@code BlockSpaceManager.swapIn}
 * @param swapOut (gpu block, cpu block) pairs from {@code BlockSpaceManager.swapOut}
 * @param copies copy-on-write (src, dst) device block pairs from {@code appendSlots}
 */
public record ScheduledStep(
    boolean prefill,
    List<SequenceGroup> groups,
    List<BlockMapping> swapIn,
    List<BlockMapping> swapOut,
    List<BlockMapping> copies) {

  public ScheduledStep {
    groups = List.copyOf(requireNonNull(groups, "groups is null"));
    swapIn = List.copyOf(requireNonNull(swapIn, "swapIn is null"));
    swapOut = List.copyOf(requireNonNull(swapOut, "swapOut is null"));
    copies = List.copyOf(requireNonNull(copies, "copies is null"));
  }

  /** A prefill of the groups with no block copies. */
  public static ScheduledStep prefill(List<SequenceGroup> groups) {
    return new ScheduledStep(true, groups, List.of(), List.of(), List.of());
  }

  /** A decode step of the groups, after the given copy-on-write copies. */
  public static ScheduledStep decode(List<SequenceGroup> groups, List<BlockMapping> copies) {
    return new ScheduledStep(false, groups, List.of(), List.of(), copies);
  }
}
