package dev.tandem.api.sequence;

import java.util.Arrays;
import java.util.Objects;

/**
 * One token sequence: a decoder sequence (prompt then generated tokens) or a group's encoder
 * sequence (its prompt only). Mutable and not thread-safe: the engine loop owns it.
 */
public final class Sequence {

  private final long id;
  private final int promptLength;
  private int[] tokens;
  private int length;
  private SequenceStatus status = SequenceStatus.WAITING;
  private double cumulativeLogprob;

  /**
   * @param id unique among the sequences alive in one engine
   * @param promptTokens the prompt's token ids (may be empty only for an encoder sequence)
   */
  public Sequence(long id, int[] promptTokens) {
    Objects.requireNonNull(promptTokens, "promptTokens is null");
    this.id = id;
    this.promptLength = promptTokens.length;
    this.tokens = Arrays.copyOf(promptTokens, Math.max(8, promptTokens.length * 2));
    this.length = promptTokens.length;
  }

  public long id() {
    return id;
  }

  /** Number of tokens: prompt plus generated. */
  public int length() {
    return length;
  }

  public int promptLength() {
    return promptLength;
  }

  public int outputLength() {
    return length - promptLength;
  }

  public int tokenAt(int index) {
    Objects.checkIndex(index, length);
    return tokens[index];
  }

  public int lastToken() {
    if (length == 0) {
      throw new IllegalStateException("sequence " + id + " has no tokens");
    }
    return tokens[length - 1];
  }

  /** A copy of all token ids, prompt first. */
  public int[] tokenIds() {
    return Arrays.copyOf(tokens, length);
  }

  /** A copy of the generated token ids only. */
  public int[] outputTokenIds() {
    return Arrays.copyOfRange(tokens, promptLength, length);
  }

  /** Appends one generated token and adds its log-probability to the cumulative one. */
  public void appendToken(int token, double logprob) {
    if (length == tokens.length) {
      tokens = Arrays.copyOf(tokens, tokens.length * 2);
    }
    tokens[length++] = token;
    cumulativeLogprob += logprob;
  }

  public double cumulativeLogprob() {
    return cumulativeLogprob;
  }

  public SequenceStatus status() {
    return status;
  }

  public void setStatus(SequenceStatus status) {
    this.status = Objects.requireNonNull(status, "status is null");
  }

  public boolean isFinished() {
    return status.isFinished();
  }

  /**
   * A copy of this sequence under a new id, for beam search and {@code n > 1}: same tokens, status
   * and cumulative log-probability.
   */
  public Sequence fork(long childId) {
    Sequence child = new Sequence(childId, Arrays.copyOf(tokens, promptLength));
    child.tokens = Arrays.copyOf(tokens, tokens.length);
    child.length = length;
    child.status = status;
    child.cumulativeLogprob = cumulativeLogprob;
    return child;
  }

  @Override
  public String toString() {
    return "Sequence[id=" + id + ", length=" + length + ", status=" + status + "]";
  }
}
