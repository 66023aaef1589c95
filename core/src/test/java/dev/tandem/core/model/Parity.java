package dev.tandem.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockMapping;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.block.BlockSpaceManagerProvider;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.core.runner.Logits;
import dev.tandem.core.runner.ModelRunner;
import dev.tandem.core.runner.ScheduledStep;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Runs a batch through the runner and measures how far it lands from the expected outputs. */
final class Parity {

  static final double TOLERANCE = 1e-4;
  private static final int FILLERS = 8;

  private Parity() {}

  /** Largest absolute differences of one teacher-forced prefill. */
  record PrefillResult(double hidden, double logits) {}

  /**
   * A block manager whose pool is already fragmented (see {@link Requests#fragment}), with room for
   * the batch twice over.
   */
  static BlockSpaceManager blockManager(
      BlockSpaceManagerProvider provider, int blockSize, int numBlocks) {
    BlockSpaceManager blocks =
        provider.create(new BlockManagerConfig(blockSize, numBlocks, 0, 0.0, false));
    Requests.fragment(blocks, FILLERS, blockSize);
    return blocks;
  }

  /** Device blocks for the batch twice over plus the fragmenting fillers. */
  static int blocksFor(int[][] inputs, int decoderLength, int blockSize) {
    int needed = 0;
    for (int[] input : inputs) {
      needed += ceilDiv(input.length, blockSize) + ceilDiv(decoderLength + 1, blockSize);
    }
    return 2 * needed + 3 * FILLERS;
  }

  /**
   * One prefill of every example with its whole decoder input: the encoder output and the logits of
   * every decoder position.
   */
  static PrefillResult teacherForcedPrefill(
      ModelRunner runner,
      BlockSpaceManager blocks,
      int[][] inputs,
      int[][] decoderInputs,
      Expected expected) {
    Requests requests = new Requests();
    List<SequenceGroup> groups = new ArrayList<>();
    for (int b = 0; b < inputs.length; b++) {
      SequenceGroup group = requests.group(inputs[b], decoderInputs[b]);
      Requests.allocate(blocks, group);
      groups.add(group);
    }
    Logits logits = runner.executeAllPositions(ScheduledStep.prefill(groups), blocks);

    int d = expected.dModel();
    float[] hidden = new float[Arrays.stream(inputs).mapToInt(a -> a.length).sum() * d];
    AttentionBackend backend = runner.model().backend();
    backend.read(runner.model().encoderOutput(), 0, hidden, 0, hidden.length);
    double worstHidden = 0;
    double worstLogit = 0;
    int encoderRow = 0;
    int decoderRow = 0;
    for (int b = 0; b < inputs.length; b++) {
      for (int t = 0; t < inputs[b].length; t++, encoderRow++) {
        for (int j = 0; j < d; j++) {
          worstHidden =
              Math.max(
                  worstHidden, Math.abs(hidden[encoderRow * d + j] - expected.hidden(b, t, j)));
        }
      }
      for (int t = 0; t < decoderInputs[b].length; t++, decoderRow++) {
        worstLogit = Math.max(worstLogit, rowDifference(logits, decoderRow, expected, b, t));
      }
    }
    assertEquals(decoderRow, logits.rows());
    release(blocks, groups);
    return new PrefillResult(worstHidden, worstLogit);
  }

  /**
   * A prefill of each example's first decoder token, then one decode step per further token
   * (teacher forcing through the paged self and cross caches); the largest logit difference.
   */
  static double teacherForcedDecode(
      ModelRunner runner,
      BlockSpaceManager blocks,
      int[][] inputs,
      int[][] decoderInputs,
      Expected expected) {
    Requests requests = new Requests();
    List<SequenceGroup> groups = new ArrayList<>();
    for (int b = 0; b < inputs.length; b++) {
      SequenceGroup group = requests.group(inputs[b], new int[] {decoderInputs[b][0]});
      Requests.allocate(blocks, group);
      groups.add(group);
    }
    int steps = decoderInputs[0].length;
    double worst = 0;
    Logits logits = runner.execute(ScheduledStep.prefill(groups), blocks);
    for (int t = 0; ; t++) {
      for (int b = 0; b < inputs.length; b++) {
        worst = Math.max(worst, rowDifference(logits, b, expected, b, t));
      }
      if (t + 1 == steps) {
        break;
      }
      List<BlockMapping> copies = new ArrayList<>();
      for (int b = 0; b < inputs.length; b++) {
        Sequence seq = groups.get(b).sequences().getFirst();
        seq.appendToken(decoderInputs[b][t + 1], 0);
        copies.addAll(blocks.appendSlots(seq, 0));
      }
      logits = runner.execute(ScheduledStep.decode(groups, copies), blocks);
    }
    release(blocks, groups);
    return worst;
  }

  private static void release(BlockSpaceManager blocks, List<SequenceGroup> groups) {
    for (SequenceGroup group : groups) {
      blocks.free(group.sequences().getFirst());
      blocks.freeCross(group);
    }
    blocks.checkInvariants();
  }

  static double rowDifference(Logits logits, int row, Expected expected, int b, int t) {
    double worst = 0;
    for (int v = 0; v < expected.vocab(); v++) {
      worst = Math.max(worst, Math.abs(logits.get(row, v) - expected.logit(b, t, v)));
    }
    return worst;
  }

  static int ceilDiv(int a, int b) {
    return (a + b - 1) / b;
  }
}
