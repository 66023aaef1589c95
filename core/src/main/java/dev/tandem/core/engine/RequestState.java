package dev.tandem.core.engine;

import dev.tandem.api.sequence.OutputKind;
import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.core.sampling.BeamSearch;
import dev.tandem.core.sampling.PositionLogprobs;
import dev.tandem.core.sampling.Sampler;
import dev.tandem.core.tokenizer.IncrementalDetokenizer;
import dev.tandem.core.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;

/** The engine's bookkeeping for one request: its group, per-sequence outputs, timing. */
final class RequestState {

  /** One output sequence's generator, text and finish. */
  static final class SequenceOutput {
    final int index;
    final RandomGenerator random;
    final IncrementalDetokenizer text;
    final List<PositionLogprobs> logprobs;
    FinishReason finishReason;
    String finishMessage;
    int textLimit = -1; // text length after a matched stop string, or -1

    SequenceOutput(
        int index, RandomGenerator random, boolean wantLogprobs, IncrementalDetokenizer text) {
      this.index = index;
      this.random = random;
      this.text = text;
      this.logprobs = wantLogprobs ? new ArrayList<>() : null;
    }
  }

  final Request request;
  final Tokenizer tokenizer;
  final String promptText;
  final int[] encoderIds;
  final SequenceGroup group;
  final int maxTokens;
  final long seed;
  final BeamSearch beamSearch;
  private final Map<Long, SequenceOutput> outputs = new HashMap<>();
  private final long firstId; // the first sequence's output, looked up without the map
  private SequenceOutput firstOutput; // null once that sequence is forgotten
  private final long[] tokenTimes;
  private int tokenSteps;
  private long firstTokenNanos;
  private long finishedNanos;
  private FinishReason groupFinish;
  private String groupMessage;

  RequestState(
      Request request,
      Tokenizer tokenizer,
      String promptText,
      int[] encoderIds,
      SequenceGroup group,
      int maxTokens,
      long seed,
      BeamSearch beamSearch) {
    this.request = request;
    this.tokenizer = tokenizer;
    this.promptText = promptText;
    this.encoderIds = encoderIds;
    this.group = group;
    this.maxTokens = maxTokens;
    this.seed = seed;
    this.beamSearch = beamSearch;
    this.tokenTimes = new long[maxTokens];
    Sequence first = group.sequences().getFirst();
    addOutput(first, 0);
    this.firstId = first.id();
    this.firstOutput = outputs.get(firstId);
  }

  /** The request's parameters as the engine resolved them (bad_words tokenized). */
  SamplingParams params() {
    return group.samplingParams();
  }

  String requestId() {
    return request.requestId();
  }

  /** Registers a decoder sequence as output {@code index}, with its own generator. */
  void addOutput(Sequence seq, int index) {
    outputs.put(seq.id(), newOutput(index, params().logprobs() != null));
  }

  /**
   * Registers a beam forked from {@code parent}: its positions' log-probabilities so far (when
   * asked for) are the parent's.
   */
  void addBeam(Sequence child, Sequence parent) {
    SequenceOutput out = newOutput(-1, params().logprobs() != null);
    if (out.logprobs != null) {
      out.logprobs.addAll(output(parent).logprobs);
    }
    outputs.put(child.id(), out);
  }

  /**
   * Whether the text is followed token by token: for outputs each step ({@link
   * OutputKind#CUMULATIVE}) and for stop strings. Otherwise only the final output has text, decoded
   * once.
   */
  boolean followsText() {
    return params().outputKind() == OutputKind.CUMULATIVE || !params().stop().isEmpty();
  }

  /** A forked beam keeps no per-sequence output state of its own beyond its text. */
  SequenceOutput output(Sequence seq) {
    if (seq.id() == firstId && firstOutput != null) {
      return firstOutput;
    }
    SequenceOutput output = outputs.get(seq.id());
    if (output == null) {
      output = newOutput(-1, false);
      outputs.put(seq.id(), output);
    }
    return output;
  }

  private SequenceOutput newOutput(int index, boolean wantLogprobs) {
    return new SequenceOutput(
        index,
        Sampler.generator(seed, index),
        wantLogprobs,
        new IncrementalDetokenizer(tokenizer, params().skipSpecialTokens()));
  }

  void forget(Sequence seq) {
    outputs.remove(seq.id());
    if (seq.id() == firstId) {
      firstOutput = null;
    }
  }

  void recordTokens(long nowNanos) {
    if (firstTokenNanos == 0) {
      firstTokenNanos = nowNanos;
    }
    if (tokenSteps < tokenTimes.length) {
      tokenTimes[tokenSteps++] = nowNanos;
    }
  }

  /** Ends the whole request (abort, error) with one reason for every output. */
  void finishGroup(FinishReason reason, String message, long nowNanos) {
    groupFinish = reason;
    groupMessage = message;
    finishedNanos = nowNanos;
  }

  void markFinished(long nowNanos) {
    if (finishedNanos == 0) {
      finishedNanos = nowNanos;
    }
  }

  boolean isFinished() {
    return finishedNanos != 0;
  }

  RequestMetrics metrics() {
    return new RequestMetrics(
        group.arrivalTimeNanos(),
        firstTokenNanos,
        finishedNanos,
        Arrays.copyOf(tokenTimes, tokenSteps));
  }

  /** The request's output now; final when the request is finished. */
  RequestOutput snapshot() {
    boolean finished = isFinished();
    List<CompletionOutput> completions = new ArrayList<>();
    if (groupFinish != null) {
      // Aborted or failed: the outputs as far as they got, all ending for the group's reason.
      List<Sequence> seqs = orderedSequences();
      for (int i = 0; i < seqs.size(); i++) {
        completions.add(completion(seqs.get(i), i, groupFinish, groupMessage));
      }
      if (completions.isEmpty()) {
        completions.add(
            new CompletionOutput(0, "", new int[0], 0, 0, null, groupFinish, groupMessage));
      }
    } else if (beamSearch != null && finished) {
      int index = 0;
      for (BeamSearch.Hypothesis h : beamSearch.best(params().n())) {
        int[] tokens = h.tokens();
        int[] generated = Arrays.copyOfRange(tokens, decoderPromptLength(), tokens.length);
        String text = tokenizer.decode(generated, params().skipSpecialTokens());
        completions.add(
            new CompletionOutput(
                index++,
                text,
                generated,
                h.sumLogprobs(),
                h.score(),
                h.logprobs(),
                FinishReason.STOP,
                null));
      }
    } else {
      List<Sequence> seqs = orderedSequences();
      for (int i = 0; i < seqs.size(); i++) {
        SequenceOutput out = output(seqs.get(i));
        completions.add(completion(seqs.get(i), i, out.finishReason, out.finishMessage));
      }
    }
    return new RequestOutput(requestId(), promptText, encoderIds, completions, finished, metrics());
  }

  int decoderPromptLength() {
    return group.sequences().getFirst().promptLength();
  }

  private CompletionOutput completion(Sequence seq, int rank, FinishReason reason, String message) {
    SequenceOutput out = output(seq);
    String text;
    if (reason != null && reason != FinishReason.ABORT && reason != FinishReason.ERROR) {
      // Final: decode the whole output once, exactly as the tokenizer does it.
      text = tokenizer.decode(seq.outputTokenIds(), params().skipSpecialTokens());
      if (out.textLimit >= 0 && message != null) {
        int at = text.indexOf(message);
        text = at >= 0 ? text.substring(0, at) : text.substring(0, out.textLimit);
      }
    } else if (!followsText()) {
      text = tokenizer.decode(seq.outputTokenIds(), params().skipSpecialTokens());
    } else {
      String partial = out.text.text();
      text = out.textLimit >= 0 ? partial.substring(0, out.textLimit) : partial;
    }
    return new CompletionOutput(
        beamSearch != null ? rank : out.index,
        text,
        seq.outputTokenIds(),
        seq.cumulativeLogprob(),
        seq.cumulativeLogprob(),
        out.logprobs,
        reason,
        message);
  }

  /** Output sequences by index (beams: best running score first). */
  private List<Sequence> orderedSequences() {
    List<Sequence> seqs = new ArrayList<>(group.sequences());
    if (beamSearch != null) {
      seqs.sort(Comparator.comparingDouble(Sequence::cumulativeLogprob).reversed());
      return seqs;
    }
    seqs.removeIf(s -> !outputs.containsKey(s.id()));
    seqs.sort(Comparator.comparingInt(s -> outputs.get(s.id()).index));
    return seqs;
  }
}
