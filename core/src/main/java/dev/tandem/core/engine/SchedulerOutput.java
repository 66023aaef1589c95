package dev.tandem.core.engine;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.block.BlockMapping;
import dev.tandem.api.sequence.SequenceGroup;
import java.util.List;

/**
 * What one {@link Scheduler#schedule()} decided.
 *
 * @param prefill whether {@code groups} are prefills (each with one RUNNING decoder sequence) or
 *     decodes (each RUNNING sequence advances one token)
 * @param groups the groups to run, in batch order
 * @param swapIn (cpu block, gpu block) copies to perform before the step
 * @param swapOut (gpu block, cpu block) copies to perform before the step
 * @param copies copy-on-write (src, dst) device block copies to perform before the step
 * @param failed groups that can never run, finished by the scheduler, with the reason
 * @param numBatchedTokens tokens the step processes (encoder and decoder)
 * @param numLookaheadSlots decode steps: further tokens every RUNNING sequence has room for, so
 *     that up to 1 + this many positions may run before the next schedule; 0 at prefill
 */
public record SchedulerOutput(
    boolean prefill,
    List<SequenceGroup> groups,
    List<BlockMapping> swapIn,
    List<BlockMapping> swapOut,
    List<BlockMapping> copies,
    List<FailedGroup> failed,
    int numBatchedTokens,
    int numLookaheadSlots) {

  /** A group the scheduler gave up on, and why, in words a user can act on. */
  public record FailedGroup(SequenceGroup group, String reason) {
    public FailedGroup {
      requireNonNull(group, "group is null");
      requireNonNull(reason, "reason is null");
    }
  }

  public SchedulerOutput {
    groups = List.copyOf(groups);
    swapIn = List.copyOf(swapIn);
    swapOut = List.copyOf(swapOut);
    copies = List.copyOf(copies);
    failed = List.copyOf(failed);
  }

  /** Whether there is nothing to run (failed groups may still need reporting). */
  public boolean isEmpty() {
    return groups.isEmpty();
  }
}
