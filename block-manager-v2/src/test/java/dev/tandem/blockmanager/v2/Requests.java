package dev.tandem.blockmanager.v2;

import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/** Builds managers, sequences and requests for the tests. */
final class Requests {

  private Requests() {}

  static V2BlockSpaceManager manager(
      int blockSize, int numGpuBlocks, int numCpuBlocks, double watermark, boolean prefixCaching) {
    return new V2BlockSpaceManager(
        new BlockManagerConfig(blockSize, numGpuBlocks, numCpuBlocks, watermark, prefixCaching));
  }

  /** Tokens {@code first, first + 1, ...}. */
  static int[] tokens(int length, int first) {
    return IntStream.range(0, length).map(i -> first + i).toArray();
  }

  /**
   * A request with {@code numSeqs} waiting decoder sequences (ids {@code firstSeqId, ...}) sharing
   * one prompt, and an encoder sequence unless {@code encoderTokens} is null.
   */
  static SequenceGroup request(
      String requestId, int[] encoderTokens, int[] decoderPrompt, int numSeqs, long firstSeqId) {
    List<Sequence> seqs = new ArrayList<>();
    for (int i = 0; i < numSeqs; i++) {
      seqs.add(new Sequence(firstSeqId + i, decoderPrompt));
    }
    Sequence encoder = encoderTokens == null ? null : new Sequence(-firstSeqId - 1, encoderTokens);
    return new SequenceGroup(requestId, encoder, seqs, 0, SamplingParams.greedy());
  }

  static void setStatus(SequenceGroup group, dev.tandem.api.sequence.SequenceStatus status) {
    for (Sequence seq : group.sequences()) {
      seq.setStatus(status);
    }
  }
}
