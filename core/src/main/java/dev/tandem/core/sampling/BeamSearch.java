package dev.tandem.core.sampling;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.sequence.Sequence;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * The beam search of one request, step for step as HuggingFace's {@code
 * GenerationMixin._beam_search} (transformers 4.5x–5.x): each step keeps the best {@code 2 x
 * numBeams} continuations of all running beams; those among the first {@code numBeams} that end
 * (EOS, or the maximum length) become finished hypotheses scored {@code sum of logprobs /
 * generatedLength ^ lengthPenalty}, where generatedLength counts the tokens after the decoder
 * prompt, the last one included; the best {@code numBeams} others run on. With {@code
 * early_stopping} the search ends once {@code numBeams} hypotheses are finished; without it, once
 * the best running beam can no longer beat the worst finished hypothesis at its current length.
 *
 * <p>Running scores are the sequences' cumulative log-probabilities; the caller rearranges its
 * sequences as each {@link Step} says. Not thread-safe.
 */
public final class BeamSearch {

  /**
   * A finished candidate: all decoder tokens (prompt first), its length-penalized score and, when
   * asked for, the log-probabilities of each generated position (else null).
   */
  public record Hypothesis(
      int[] tokens, double score, double sumLogprobs, List<PositionLogprobs> logprobs) {

    public Hypothesis {
      tokens = requireNonNull(tokens, "tokens is null").clone();
      logprobs = logprobs == null ? null : List.copyOf(logprobs);
    }

    @Override
    public int[] tokens() {
      return tokens.clone();
    }
  }

  /**
   * A beam of the next step: running beam {@code parent} (an index) extended by {@code token};
   * {@code position} holds the requested log-probabilities of that position, or null.
   */
  public record Continuation(int parent, int token, double logprob, PositionLogprobs position) {}

  /**
   * @param running the beams that go on, best first (possibly fewer than numBeams)
   * @param done true when the search is over; then {@code running} is empty
   */
  public record Step(List<Continuation> running, boolean done) {}

  private record Candidate(int parent, int token, double logprob, double score, boolean ends) {}

  private final int numBeams;
  private final int candidatesPerStep;
  private final double lengthPenalty;
  private final boolean earlyStopping;
  private final int decoderPromptLength;
  private final int maxLength;
  private final int[] eosTokenIds;
  private final int topLogprobs; // logprobs=k per position, or -1
  private final List<Hypothesis> finished = new ArrayList<>(); // best first, at most numBeams
  private boolean improvementPossible = true;

  /**
   * @param decoderPromptLength tokens of the decoder prompt (1: the decoder start token)
   * @param maxLength decoder prompt plus the maximum number of new tokens
   * @param eosTokenIds tokens that finish a beam (empty with {@code ignore_eos})
   * @param topLogprobs {@code logprobs=k}: each position's chosen token and top k; -1 for none
   */
  public BeamSearch(
      int numBeams,
      double lengthPenalty,
      boolean earlyStopping,
      int decoderPromptLength,
      int maxLength,
      int[] eosTokenIds,
      int topLogprobs) {
    if (numBeams < 1) {
      throw new IllegalArgumentException("numBeams=" + numBeams + ": must be at least 1");
    }
    this.numBeams = numBeams;
    this.eosTokenIds = eosTokenIds.clone();
    this.candidatesPerStep = Math.max(2, 1 + this.eosTokenIds.length) * numBeams;
    this.lengthPenalty = lengthPenalty;
    this.earlyStopping = earlyStopping;
    this.decoderPromptLength = decoderPromptLength;
    this.maxLength = maxLength;
    this.topLogprobs = topLogprobs;
  }

  /**
   * One step over the running beams.
   *
   * @param beams the running beams, all of the same length
   * @param logprobs processed log-probabilities, row per beam: beam b's row is row firstRow + b of
   *     (rows, vocabSize)
   * @param firstRow the first beam's row in logprobs
   * @param histories per beam, its positions' log-probabilities so far (with topLogprobs ≥ 0; else
   *     null)
   */
  public Step step(
      List<Sequence> beams,
      float[] logprobs,
      int firstRow,
      int vocabSize,
      List<List<PositionLogprobs>> histories) {
    int currentLength = beams.getFirst().length();
    int offset = firstRow * vocabSize;
    List<Candidate> candidates = topCandidates(beams, logprobs, offset, vocabSize, currentLength);

    // The best candidates that do not end run on.
    List<Continuation> running = new ArrayList<>(numBeams);
    for (Candidate c : candidates) {
      if (!c.ends() && c.score() != Double.NEGATIVE_INFINITY && running.size() < numBeams) {
        running.add(
            new Continuation(
                c.parent(), c.token(), c.logprob(), position(logprobs, offset, vocabSize, c)));
      }
    }

    // Among the first numBeams candidates, those that end may become finished hypotheses, unless
    // the search is already full (early stopping) or cannot improve any more.
    boolean full = finished.size() == numBeams;
    if (!(full && earlyStopping) && improvementPossible) {
      double normalizer = Math.pow(currentLength + 1 - decoderPromptLength, lengthPenalty);
      for (int rank = 0; rank < Math.min(numBeams, candidates.size()); rank++) {
        Candidate c = candidates.get(rank);
        if (c.ends() && c.score() != Double.NEGATIVE_INFINITY) {
          int[] tokens = Arrays.copyOf(beams.get(c.parent()).tokenIds(), currentLength + 1);
          tokens[currentLength] = c.token();
          List<PositionLogprobs> positions = null;
          if (topLogprobs >= 0) {
            positions = new ArrayList<>(histories.get(c.parent()));
            positions.add(position(logprobs, offset, vocabSize, c));
          }
          addFinished(new Hypothesis(tokens, c.score() / normalizer, c.score(), positions));
        }
      }
    }

    // The stopping condition, evaluated at the new length as HuggingFace does.
    boolean allEnd = candidates.stream().allMatch(Candidate::ends);
    if (finished.size() == numBeams && !running.isEmpty()) {
      double bestRunning = beams.get(running.getFirst().parent()).cumulativeLogprob();
      bestRunning += running.getFirst().logprob();
      double bestPossible =
          bestRunning / Math.pow(currentLength + 1 - decoderPromptLength, lengthPenalty);
      improvementPossible &= bestPossible > finished.getLast().score();
    }
    boolean done =
        running.isEmpty()
            || allEnd
            || !improvementPossible
            || (earlyStopping && finished.size() == numBeams);
    return new Step(done ? List.of() : running, done);
  }

  /** The candidate's position: its token and the top k of its beam's row; null unless asked. */
  private PositionLogprobs position(float[] logprobs, int offset, int vocabSize, Candidate c) {
    if (topLogprobs < 0) {
      return null;
    }
    float[] row =
        Arrays.copyOfRange(
            logprobs, offset + c.parent() * vocabSize, offset + (c.parent() + 1) * vocabSize);
    return Distribution.ofLogprobRow(row, vocabSize, c.token(), topLogprobs);
  }

  /** The best finished hypotheses, best first; at most numBeams. */
  public List<Hypothesis> best(int count) {
    return List.copyOf(finished.subList(0, Math.min(count, finished.size())));
  }

  private List<Candidate> topCandidates(
      List<Sequence> beams, float[] logprobs, int offset, int vocabSize, int currentLength) {
    boolean atMaxLength = currentLength + 1 >= maxLength;
    List<Candidate> all = new ArrayList<>(beams.size() * candidatesPerStep);
    for (int b = 0; b < beams.size(); b++) {
      int row = offset + b * vocabSize;
      double base = beams.get(b).cumulativeLogprob();
      for (int token : Distribution.topIndices(logprobs, row, vocabSize, candidatesPerStep)) {
        double lp = logprobs[row + token];
        all.add(new Candidate(b, token, lp, base + lp, atMaxLength || isEos(token)));
      }
    }
    // Stable sort: among equal scores, lower beam index then lower token, as a flattened topk.
    all.sort(Comparator.comparingDouble(Candidate::score).reversed());
    return all.subList(0, Math.min(candidatesPerStep, all.size()));
  }

  private void addFinished(Hypothesis hypothesis) {
    int pos = 0;
    while (pos < finished.size() && finished.get(pos).score() >= hypothesis.score()) {
      pos++;
    }
    if (pos < numBeams) {
      finished.add(pos, hypothesis);
      if (finished.size() > numBeams) {
        finished.removeLast();
      }
    }
  }

  private boolean isEos(int token) {
    for (int eos : eosTokenIds) {
      if (eos == token) {
        return true;
      }
    }
    return false;
  }
}
