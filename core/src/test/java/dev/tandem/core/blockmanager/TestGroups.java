package dev.tandem.core.blockmanager;

import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.api.sequence.SequenceStatus;
import java.util.ArrayList;
import java.util.List;

/** Dummy requests for block manager tests, as vLLM's tests/core/utils.py makes them. */
final class TestGroups {

  private TestGroups() {}

  /** A decoder-only group and its one sequence (as vLLM's {@code create_dummy_prompt}). */
  record DecoderOnly(Sequence decoder, SequenceGroup group) {}

  /**
   * An encoder/decoder group with its decoder and encoder sequences (as vLLM's {@code
   * create_dummy_prompt_encoder_decoder}).
   */
  record EncoderDecoder(Sequence decoder, Sequence encoder, SequenceGroup group) {}

  /** Tokens 0 .. length−1. */
  static int[] ascending(int length) {
    int[] tokens = new int[length];
    for (int i = 0; i < length; i++) {
      tokens[i] = i;
    }
    return tokens;
  }

  /** Tokens length−1 .. 0. */
  static int[] descending(int length) {
    int[] tokens = new int[length];
    for (int i = 0; i < length; i++) {
      tokens[i] = length - 1 - i;
    }
    return tokens;
  }

  static DecoderOnly decoderOnly(String requestId, long seqId, int promptLength) {
    Sequence decoder = new Sequence(seqId, ascending(promptLength));
    return new DecoderOnly(decoder, group(requestId, null, List.of(decoder)));
  }

  /**
   * A group whose decoder prompt is 0 .. decoderPromptLength−1 and whose encoder input is the
   * reverse of 0 .. encoderPromptLength−1 (may be empty).
   */
  static EncoderDecoder encoderDecoder(
      String requestId, long seqId, int decoderPromptLength, int encoderPromptLength) {
    Sequence decoder = new Sequence(seqId, ascending(decoderPromptLength));
    Sequence encoder = new Sequence(seqId, descending(encoderPromptLength));
    return new EncoderDecoder(decoder, encoder, group(requestId, encoder, List.of(decoder)));
  }

  /**
   * As vLLM's {@code create_seq_group_encoder_decoder}: one decoder sequence per output length,
   * each a prompt of {@code promptLength} zeros followed by that many generated tokens, all WAITING
   * (like sequences preempted by recompute); the encoder input is {@code promptLength} zeros.
   */
  static SequenceGroup encoderDecoderWithOutputs(
      String requestId, long firstSeqId, int promptLength, int[] outputLengths) {
    List<Sequence> seqs = new ArrayList<>();
    for (int s = 0; s < outputLengths.length; s++) {
      Sequence seq = new Sequence(firstSeqId + s, new int[promptLength]);
      for (int t = 0; t < outputLengths[s]; t++) {
        seq.appendToken(t, 0);
      }
      seqs.add(seq);
    }
    Sequence encoder = new Sequence(firstSeqId + outputLengths.length, new int[promptLength]);
    return group(requestId, encoder, seqs);
  }

  static SequenceGroup group(String requestId, Sequence encoder, List<Sequence> decoders) {
    return new SequenceGroup(requestId, encoder, decoders, 0L, SamplingParams.greedy());
  }

  /** Sets every decoder sequence of the group to the status, as the scheduler would. */
  static void setStatus(SequenceGroup group, SequenceStatus status) {
    for (Sequence seq : group.sequences()) {
      seq.setStatus(status);
    }
  }
}
