package dev.tandem.api.sequence;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One request: 0 or 1 encoder sequence and 1..n decoder sequences that share it. The group's
 * request id is globally unique; it keys the group's cross-attention block table.
 */
public final class SequenceGroup {

  private final String requestId;
  private final Sequence encoderSequence;
  private final List<Sequence> sequences = new ArrayList<>();
  private final long arrivalTimeNanos;
  private final SamplingParams samplingParams;

  /**
   * @param encoderSequence the encoder input, or null for a decoder-only request
   * @param sequences the decoder sequences, at least one
   */
  public SequenceGroup(
      String requestId,
      Sequence encoderSequence,
      List<Sequence> sequences,
      long arrivalTimeNanos,
      SamplingParams samplingParams) {
    this.requestId = Objects.requireNonNull(requestId, "requestId is null");
    this.encoderSequence = encoderSequence;
    if (sequences.isEmpty()) {
      throw new IllegalArgumentException("request " + requestId + " has no decoder sequence");
    }
    this.sequences.addAll(sequences);
    this.arrivalTimeNanos = arrivalTimeNanos;
    this.samplingParams = Objects.requireNonNull(samplingParams, "samplingParams is null");
  }

  public String requestId() {
    return requestId;
  }

  /** The encoder sequence, or null when the request is decoder-only. */
  public Sequence encoderSequence() {
    return encoderSequence;
  }

  public boolean isEncoderDecoder() {
    return encoderSequence != null;
  }

  /** All decoder sequences, live view in insertion order. */
  public List<Sequence> sequences() {
    return java.util.Collections.unmodifiableList(sequences);
  }

  /** The decoder sequences in the given status. */
  public List<Sequence> sequences(SequenceStatus status) {
    List<Sequence> result = new ArrayList<>();
    for (Sequence seq : sequences) {
      if (seq.status() == status) {
        result.add(seq);
      }
    }
    return result;
  }

  /** The number of decoder sequences in the given status (no list made). */
  public int numSequences(SequenceStatus status) {
    int count = 0;
    for (Sequence seq : sequences) {
      if (seq.status() == status) {
        count++;
      }
    }
    return count;
  }

  public Sequence sequence(long seqId) {
    for (Sequence seq : sequences) {
      if (seq.id() == seqId) {
        return seq;
      }
    }
    throw new IllegalArgumentException("request " + requestId + " has no sequence " + seqId);
  }

  public void addSequence(Sequence seq) {
    sequences.add(Objects.requireNonNull(seq, "seq is null"));
  }

  public void removeSequence(Sequence seq) {
    if (!sequences.remove(seq)) {
      throw new IllegalArgumentException("request " + requestId + " has no sequence " + seq.id());
    }
  }

  /** Decoder sequences not yet finished. */
  public int numUnfinished() {
    int count = 0;
    for (Sequence seq : sequences) {
      if (!seq.isFinished()) {
        count++;
      }
    }
    return count;
  }

  public boolean isFinished() {
    return numUnfinished() == 0;
  }

  public long arrivalTimeNanos() {
    return arrivalTimeNanos;
  }

  public SamplingParams samplingParams() {
    return samplingParams;
  }

  @Override
  public String toString() {
    return "SequenceGroup[" + requestId + ", " + sequences.size() + " decoder sequences]";
  }
}
