package dev.tandem.core.engine;

import dev.tandem.api.backend.SamplingRows;
import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.api.sequence.SequenceStatus;
import dev.tandem.core.engine.RequestState.SequenceOutput;
import dev.tandem.core.sampling.BeamSearch;
import dev.tandem.core.sampling.Distribution;
import dev.tandem.core.sampling.PositionLogprobs;
import dev.tandem.core.sampling.SampledToken;
import dev.tandem.core.sampling.Sampler;
import dev.tandem.core.sampling.TokenRules;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Applies one step's logits to its groups: samples (or runs a beam-search step), forks the {@code n
 * > 1} samples and the beams, detokenizes, checks the stop conditions in vLLM's order and frees the
 * blocks of sequences that finished. Runs on the engine loop's thread.
 */
final class OutputProcessor {

  private static final System.Logger LOG = System.getLogger(OutputProcessor.class.getName());

  private final Scheduler scheduler;
  private final ParallelSampling sampling;
  private final Sampler sampler; // sampling's sampler for the calling thread
  private final int vocabSize;
  private final int maxModelLen;
  private final LongSupplier nextSequenceId;
  private float[] beamRows = new float[0]; // (beams of the step, vocab): their scores
  private final List<Sequence> selectedSeqs = new ArrayList<>(); // see selectRows
  private final List<RequestState> selectedStates = new ArrayList<>();
  private int[] selectedRows = new int[0];
  private SampledToken[] sampled = new SampledToken[0];
  private final List<Sequence> rowSequences = new ArrayList<>(); // see processChosen
  private final List<RequestState> rowStates = new ArrayList<>(); // the group of each
  private boolean[] isHostRow = new boolean[16]; // by row of the last deviceChoice's step
  private int[] hostRowIndex = new int[16]; // its host rows, ascending
  private int hostRowCount;

  OutputProcessor(
      Scheduler scheduler,
      ParallelSampling sampling,
      int vocabSize,
      int maxModelLen,
      LongSupplier nextSequenceId) {
    this.scheduler = scheduler;
    this.sampling = sampling;
    this.sampler = sampling.sampler();
    this.vocabSize = vocabSize;
    this.maxModelLen = maxModelLen;
    this.nextSequenceId = nextSequenceId;
  }

  /**
   * Consumes the logits rows of the step's groups, in order. The rows that are sampled on their own
   * (not beams, not the first step of n > 1, which forks) are sampled first, in parallel; then
   * every group takes its tokens in order.
   *
   * @return the number of rows consumed
   */
  int process(List<RequestState> states, float[] logits, long nowNanos) {
    clearSampled(states);
    sampleSelectedRows(logits);
    scoreBeamRows(states, logits);
    return takeTokens(states, logits, nowNanos);
  }

  /**
   * Where a step's tokens are chosen, and for how many positions in a row.
   *
   * @param hostRows rows of the step the host decides from their logits ({@link #hostRows()}), the
   *     others chosen on the backend; 0 when the backend chooses them all
   */
  record StepChoice(Choice where, int positions, int hostRows) {
    static final StepChoice HOST = new StepChoice(Choice.HOST, 1, 0);
  }

  /** Where a step's tokens are chosen. */
  enum Choice {
    /** Every row from the logits read back: a step with beams, or no row the backend may choose. */
    HOST,
    /** On the backend, greedily (but for any host rows). */
    GREEDY,
    /** On the backend, rows drawn with their {@link SamplingRows} (but for any host rows). */
    SAMPLE
  }

  /**
   * Which rows of the step can be chosen where the logits are: with no beams in the step, every
   * {@link Sampler#isPlain plain} row that is not the forking first step of n > 1 and is greedy or
   * {@code deviceSamples}. The others are host rows ({@link #hostRows()}): the host decides them
   * from their logits, read back alone, while the backend chooses the rest; when all rows are, the
   * step is {@link StepChoice#HOST}. A step without host rows may run several positions (multi-step
   * decoding), at most {@code maxPositions}: as long as every row stays within the model's length,
   * past which a model with learned positions has none. A row that reaches its max_tokens earlier
   * runs on; its later tokens are dropped ({@link #processChosen}).
   */
  StepChoice deviceChoice(List<RequestState> states, boolean deviceSamples, int maxPositions) {
    boolean sampled = false;
    int positions = maxPositions;
    int rows = 0;
    hostRowCount = 0;
    for (RequestState state : states) {
      if (state.beamSearch != null) {
        return StepChoice.HOST;
      }
      boolean drawn = state.params().temperature() > 0;
      for (Sequence seq : state.group.sequences(SequenceStatus.RUNNING)) {
        boolean host =
            !sampler.isPlain(seq, state.params())
                || forksSamples(state, seq)
                || (drawn && !deviceSamples);
        markRow(rows++, host);
        if (!host) {
          positions = Math.max(1, Math.min(positions, maxModelLen - seq.length()));
          sampled |= drawn;
        }
      }
    }
    if (hostRowCount == rows) {
      return StepChoice.HOST;
    }
    return new StepChoice(
        sampled ? Choice.SAMPLE : Choice.GREEDY, hostRowCount > 0 ? 1 : positions, hostRowCount);
  }

  private void markRow(int row, boolean host) {
    if (isHostRow.length == row) {
      isHostRow = Arrays.copyOf(isHostRow, Math.max(16, 2 * row));
      hostRowIndex = Arrays.copyOf(hostRowIndex, isHostRow.length);
    }
    isHostRow[row] = host;
    if (host) {
      hostRowIndex[hostRowCount++] = row;
    }
  }

  /** The last {@link #deviceChoice}'s host rows, ascending; its hostRows() of them are valid. */
  int[] hostRows() {
    return hostRowIndex;
  }

  /**
   * For a {@link Choice#SAMPLE} step: fills {@code rows} with each row's settings and the uniform
   * number its sequence's generator gives for its next token, exactly as the host draw would take
   * it, so that a request's tokens do not depend on where they were drawn. Called once per position
   * of the step, in order.
   */
  void drawSamplingRows(List<RequestState> states, SamplingRows rows) {
    rows.clear();
    int row = 0;
    for (RequestState state : states) {
      SamplingParams p = state.params();
      for (Sequence seq : state.group.sequences(SequenceStatus.RUNNING)) {
        if (isHostRow[row]) {
          rows.add(0, 0, 1, 0, 0); // greedy, and replaced: the host decides this row
        } else {
          double uniform = p.temperature() > 0 ? state.output(seq).random.nextDouble() : 0;
          rows.add(p.temperature(), p.topK(), p.topP(), p.minP(), uniform);
        }
        row++;
      }
    }
  }

  /**
   * As {@link #process}, for a step whose tokens were chosen already ({@link #deviceChoice}),
   * position after position: at position j, row r takes token ids[j * rows + r] with
   * log-probability logprobs[j * rows + r], unless its sequence finished at an earlier position
   * (then its later tokens are dropped, as a single-position step would never have made them). A
   * position where a forced BOS / EOS rule applies takes the forced token with log-probability 0,
   * as the host's rule leaves it.
   */
  void processChosen(
      List<RequestState> states, int positions, int[] ids, float[] logprobs, long nowNanos) {
    rowSequences.clear();
    rowStates.clear();
    for (RequestState state : states) {
      for (Sequence seq : state.group.sequences(SequenceStatus.RUNNING)) {
        rowSequences.add(seq);
        rowStates.add(state);
      }
    }
    int rows = rowSequences.size();
    List<RequestState> live = new ArrayList<>(states);
    for (int j = 0; j < positions; j++) {
      if (j > 0) {
        live.removeIf(RequestState::isFinished);
      }
      for (int r = 0; r < rows; r++) {
        Sequence seq = rowSequences.get(r);
        if (seq.status() == SequenceStatus.RUNNING) {
          RequestState state = rowStates.get(r);
          int forced = forcedToken(state, seq);
          if (forced != TokenRules.NONE) {
            accept(state, seq, forced, 0, null);
          } else {
            accept(state, seq, ids[j * rows + r], logprobs[j * rows + r], null);
          }
        }
      }
      for (RequestState state : live) {
        recordStep(state, nowNanos);
      }
    }
  }

  /**
   * Every group takes its tokens in order: the rows sampled already ({@link #sampled}), beam steps
   * and forking first steps from the logits.
   */
  private int takeTokens(List<RequestState> states, float[] logits, long nowNanos) {
    int row = 0;
    int beamRow = 0;
    for (RequestState state : states) {
      List<Sequence> seqs = state.group.sequences(SequenceStatus.RUNNING);
      if (state.beamSearch != null) {
        beamStep(state, seqs, beamRow);
        beamRow += seqs.size();
      } else {
        for (int i = 0; i < seqs.size(); i++) {
          SampledToken token = sampled[row + i];
          if (token != null) {
            accept(state, seqs.get(i), token);
          } else {
            sampleStep(state, seqs.get(i), logits, row + i);
          }
        }
      }
      row += seqs.size();
      recordStep(state, nowNanos);
    }
    return row;
  }

  /** After a group took its step's tokens: their time, and the group's end if it came. */
  private static void recordStep(RequestState state, long nowNanos) {
    state.recordTokens(nowNanos);
    if (state.group.isFinished()) {
      state.markFinished(nowNanos);
    }
  }

  /**
   * As {@link #process}, for a one-position step whose rows the backend chose (ids[r], logprobs[r])
   * except the {@link #deviceChoice}'s host rows, whose logits were read back into {@code logits}:
   * those the host decides as {@link #process} does, then every group takes its tokens in order.
   */
  void processMixed(
      List<RequestState> states, int[] ids, float[] logprobs, float[] logits, long nowNanos) {
    clearSampled(states);
    int row = 0;
    for (RequestState state : states) {
      for (Sequence seq : state.group.sequences(SequenceStatus.RUNNING)) {
        if (!isHostRow[row]) {
          int forced = forcedToken(state, seq);
          sampled[row] =
              forced != TokenRules.NONE
                  ? new SampledToken(forced, 0, null)
                  : new SampledToken(ids[row], logprobs[row], null);
        }
        row++;
      }
    }
    sampleSelectedRows(logits);
    takeTokens(states, logits, nowNanos);
  }

  /** The token a forced BOS / EOS rule imposes at the row's next position, or NONE. */
  private int forcedToken(RequestState state, Sequence seq) {
    return sampler.forcedToken(seq, state.params(), state.maxTokens);
  }

  /** Selects the step's independent rows ({@link #selectRows}); no row has a token yet. */
  private void clearSampled(List<RequestState> states) {
    int rows = selectRows(states, false);
    if (sampled.length < rows) {
      sampled = new SampledToken[2 * rows];
    }
    Arrays.fill(sampled, 0, rows, null);
  }

  /**
   * sampled[row] = the token of every selected row that has none yet, sampled from its logits; the
   * rows in parallel.
   */
  private void sampleSelectedRows(float[] logits) {
    sampling.forEach(
        selectedSeqs.size(),
        (sampler, i) -> {
          int row = selectedRows[i];
          if (sampled[row] != null) {
            return; // chosen on the backend
          }
          RequestState state = selectedStates.get(i);
          Sequence seq = selectedSeqs.get(i);
          SamplingParams params = state.params();
          Distribution dist =
              sampler.distribution(logits, row * vocabSize, seq, params, state.maxTokens);
          sampled[row] = sampler.choose(dist, params, state.output(seq).random);
        });
  }

  /**
   * Beam search's scores of every beam row of the step, in parallel, into {@link #beamRows}: the
   * step's beams in order, so each group's beams are consecutive rows there.
   */
  private void scoreBeamRows(List<RequestState> states, float[] logits) {
    boolean anyBeams = false;
    for (RequestState state : states) {
      anyBeams |= state.beamSearch != null;
    }
    if (!anyBeams) {
      return;
    }
    selectRows(states, true);
    int beams = selectedSeqs.size();
    if (beamRows.length < beams * vocabSize) {
      beamRows = new float[beams * vocabSize];
    }
    sampling.forEach(
        beams,
        (sampler, i) -> {
          RequestState state = selectedStates.get(i);
          sampler.beamLogprobs(
              logits,
              selectedRows[i] * vocabSize,
              selectedSeqs.get(i),
              state.params(),
              state.maxTokens,
              beamRows,
              i * vocabSize);
        });
  }

  /**
   * Lists the step's beam rows, or its independent rows (not beams, not a forking first step), with
   * their groups and logits rows, in step order.
   *
   * @return the step's number of rows
   */
  private int selectRows(List<RequestState> states, boolean beams) {
    selectedSeqs.clear();
    selectedStates.clear();
    int rows = 0;
    for (RequestState state : states) {
      List<Sequence> seqs = state.group.sequences(SequenceStatus.RUNNING);
      if ((state.beamSearch != null) == beams) {
        for (int i = 0; i < seqs.size(); i++) {
          if (beams || !forksSamples(state, seqs.get(i))) {
            selectedSeqs.add(seqs.get(i));
            selectedStates.add(state);
            if (selectedRows.length < selectedSeqs.size()) {
              selectedRows = Arrays.copyOf(selectedRows, 2 * selectedSeqs.size());
            }
            selectedRows[selectedSeqs.size() - 1] = rows + i;
          }
        }
      }
      rows += seqs.size();
    }
    return rows;
  }

  /** The first step of n > 1: the prompt's sequence forks into n samples. */
  private static boolean forksSamples(RequestState state, Sequence seq) {
    return state.params().n() > 1 && state.group.sequences().size() == 1 && seq.outputLength() == 0;
  }

  private void sampleStep(RequestState state, Sequence seq, float[] logits, int row) {
    if (state.isFinished()) {
      return; // failed at an earlier row of this step
    }
    SamplingParams params = state.params();
    Distribution dist = sampler.distribution(logits, row * vocabSize, seq, params, state.maxTokens);
    SequenceGroup group = state.group;
    if (forksSamples(state, seq)) {
      // The first step of n > 1: n independent samples from the prompt's distribution, each in a
      // sequence of its own that shares the prompt's blocks and the group's cross table.
      List<Sequence> children = new ArrayList<>();
      for (int i = 1; i < params.n(); i++) {
        Sequence child = seq.fork(nextSequenceId.getAsLong());
        scheduler.fork(seq, child);
        group.addSequence(child);
        state.addOutput(child, i);
        children.add(child);
      }
      for (Sequence child : children) {
        accept(state, child, sampler.choose(dist, params, state.output(child).random));
      }
    }
    accept(state, seq, sampler.choose(dist, params, state.output(seq).random));
  }

  private void accept(RequestState state, Sequence seq, SampledToken token) {
    if (token == SampledToken.NONE_ALLOWED) {
      failNoTokenAllowed(state, seq.outputLength());
    } else if (!state.isFinished()) {
      accept(state, seq, token.token(), token.logprob(), token.logprobs());
    }
  }

  /**
   * Ends a request whose bans leave a sequence no token at all (HuggingFace would go on with token
   * 0, itself banned): an error for this request alone, its blocks freed, its outputs so far kept.
   */
  private void failNoTokenAllowed(RequestState state, int generated) {
    if (state.isFinished()) {
      return;
    }
    String message =
        ("request '%s': no token is allowed after %d generated tokens: no_repeat_ngram_size and"
                + " bad_words_ids ban every token of the vocabulary")
            .formatted(state.requestId(), generated);
    LOG.log(System.Logger.Level.WARNING, message);
    scheduler.abort(state.requestId());
    state.finishGroup(FinishReason.ERROR, message, System.nanoTime());
  }

  /** Appends the token, detokenizes, checks the stop conditions, frees a finished sequence. */
  private void accept(
      RequestState state, Sequence seq, int token, double logprob, PositionLogprobs logprobs) {
    SequenceOutput out = state.output(seq);
    seq.appendToken(token, logprob);
    if (out.logprobs != null) {
      out.logprobs.add(logprobs);
    }
    String delta = state.followsText() ? out.text.next(seq.outputTokenIds()) : "";
    FinishReason reason = stopCheck(state, seq, out, delta);
    if (reason != null) {
      out.finishReason = reason;
      seq.setStatus(
          reason == FinishReason.STOP
              ? SequenceStatus.FINISHED_STOPPED
              : SequenceStatus.FINISHED_LENGTH_CAPPED);
      scheduler.freeSequence(seq);
    }
  }

  /** vLLM's StopChecker: stop conditions only after min_tokens; length limits always. */
  private FinishReason stopCheck(
      RequestState state, Sequence seq, SequenceOutput out, String delta) {
    SamplingParams params = state.params();
    int token = seq.lastToken();
    if (seq.outputLength() >= params.minTokens()) {
      if (!params.ignoreEos() && sampler.rules().isEos(token)) {
        return FinishReason.STOP;
      }
      if (params.stopTokenIds().contains(token)) {
        out.finishMessage = String.valueOf(token);
        return FinishReason.STOP;
      }
      if (!params.stop().isEmpty() && !delta.isEmpty()) {
        String text = out.text.text();
        for (String stop : params.stop()) {
          int from = Math.max(0, text.length() - delta.length() - stop.length() + 1);
          int at = text.indexOf(stop, from);
          if (at >= 0) {
            out.textLimit = at;
            out.finishMessage = stop;
            return FinishReason.STOP;
          }
        }
      }
    }
    if (seq.length() >= maxModelLen || seq.outputLength() >= state.maxTokens) {
      return FinishReason.LENGTH;
    }
    return null;
  }

  /** Appends a continuation's token (and its position's log-probabilities, if asked) to a beam. */
  private static void extendBeam(RequestState state, Sequence beam, BeamSearch.Continuation c) {
    beam.appendToken(c.token(), c.logprob());
    if (c.position() != null) {
      state.output(beam).logprobs.add(c.position());
    }
  }

  /**
   * One beam-search step over the group's beams, scored already at rows [firstRow, firstRow +
   * beams) of {@link #beamRows}: rearrange the running beams as the search says.
   */
  private void beamStep(RequestState state, List<Sequence> beams, int firstRow) {
    int rows = beams.size();
    List<List<PositionLogprobs>> histories = null;
    if (state.params().logprobs() != null) {
      histories = new ArrayList<>(rows);
      for (Sequence beam : beams) {
        histories.add(state.output(beam).logprobs);
      }
    }
    BeamSearch.Step step = state.beamSearch.step(beams, beamRows, firstRow, vocabSize, histories);
    SequenceGroup group = state.group;
    if (step.done() && state.beamSearch.best(1).isEmpty()) {
      failNoTokenAllowed(state, beams.getFirst().outputLength());
      return;
    }
    if (step.done()) {
      for (Sequence beam : beams) {
        beam.setStatus(SequenceStatus.FINISHED_STOPPED);
        scheduler.freeSequence(beam);
      }
      return;
    }
    List<List<BeamSearch.Continuation>> byParent = new ArrayList<>();
    for (int b = 0; b < rows; b++) {
      byParent.add(new ArrayList<>());
    }
    for (BeamSearch.Continuation c : step.running()) {
      byParent.get(c.parent()).add(c);
    }
    for (int b = 0; b < rows; b++) {
      Sequence parent = beams.get(b);
      List<BeamSearch.Continuation> continuations = byParent.get(b);
      if (continuations.isEmpty()) {
        parent.setStatus(SequenceStatus.FINISHED_STOPPED);
        scheduler.freeSequence(parent);
        group.removeSequence(parent);
        state.forget(parent);
        continue;
      }
      for (BeamSearch.Continuation c : continuations.subList(1, continuations.size())) {
        Sequence child = parent.fork(nextSequenceId.getAsLong());
        scheduler.fork(parent, child);
        group.addSequence(child);
        state.addBeam(child, parent);
        extendBeam(state, child, c);
      }
      extendBeam(state, parent, continuations.getFirst());
    }
  }
}
