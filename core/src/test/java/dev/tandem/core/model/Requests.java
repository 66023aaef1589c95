package dev.tandem.core.model;

import dev.tandem.api.block.AllocStatus;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.api.sequence.SequenceStatus;
import java.util.ArrayList;
import java.util.List;

/** Builds sequence groups for tests and gives them blocks. */
final class Requests {

  private long nextId;

  Requests() {
    this(0);
  }

  /** Numbers sequences from {@code firstId}; ids must be unique within one block manager. */
  Requests(long firstId) {
    this.nextId = firstId;
  }

  /** A group with the encoder input and one decoder sequence holding {@code decoder}. */
  SequenceGroup group(int[] encoder, int[] decoder) {
    Sequence enc = new Sequence(nextId++, encoder);
    Sequence dec = new Sequence(nextId++, decoder);
    return new SequenceGroup("request-" + dec.id(), enc, List.of(dec), 0, SamplingParams.greedy());
  }

  /** Allocates the group's self and cross tables and marks its sequences RUNNING. */
  static void allocate(BlockSpaceManager blocks, SequenceGroup group) {
    AllocStatus status = blocks.canAllocate(group);
    if (status != AllocStatus.OK) {
      throw new IllegalStateException("cannot allocate " + group + ": " + status);
    }
    blocks.allocate(group);
    group.sequences().forEach(s -> s.setStatus(SequenceStatus.RUNNING));
  }

  /**
   * Allocates {@code count} throw-away groups (ids from 2^40 up, out of the way of the test's own)
   * and frees every second one, so that the blocks of groups allocated next are scattered over the
   * pool rather than contiguous.
   */
  static void fragment(BlockSpaceManager blocks, int count, int blockSize) {
    Requests requests = new Requests(1L << 40);
    List<SequenceGroup> fillers = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      SequenceGroup filler = requests.group(new int[2 * blockSize], new int[blockSize]);
      allocate(blocks, filler);
      fillers.add(filler);
    }
    for (int i = 0; i < count; i += 2) {
      SequenceGroup filler = fillers.get(i);
      blocks.free(filler.sequences().getFirst());
      blocks.freeCross(filler);
    }
  }
}
