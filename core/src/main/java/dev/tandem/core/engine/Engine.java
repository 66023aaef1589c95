package dev.tandem.core.engine;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.backend.SamplingRows;
import dev.tandem.api.sequence.OutputKind;
import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.api.sequence.SequenceStatus;
import dev.tandem.core.checkpoint.GenerationConfig;
import dev.tandem.core.config.EngineConfig;
import dev.tandem.core.plugin.Plugins;
import dev.tandem.core.sampling.BadWords;
import dev.tandem.core.sampling.BeamSearch;
import dev.tandem.core.sampling.Sampler;
import dev.tandem.core.sampling.TokenRules;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The synchronous engine: vLLM's {@code LLMEngine} for encoder/decoder models. {@link #addRequest}
 * queues, each {@link #step} schedules, runs the model once and returns the outputs of the requests
 * it touched; {@link #generate} runs a list of requests to the end. With {@code
 * num-scheduler-steps} K > 1 (multi-step scheduling, see {@link Scheduler}), a decode step whose
 * every row the backend may choose on its own runs up to K positions: the tokens are applied in
 * order afterwards, each followed by the stop checks, so the outputs are those of K = 1.
 *
 * <p><b>Bad input.</b> A problem with one request never stops the engine. Problems that a request
 * shows on its own — an empty encoder prompt, a prompt longer than the model allows, a duplicate
 * request id, unknown token ids, invalid or inconsistent sampling parameters — make {@link
 * #addRequest} throw {@link IllegalArgumentException} with a message naming the request, the
 * problem and what is allowed; nothing is queued. ({@link SamplingParams} already rejects
 * out-of-range values when it is built.) Problems found while scheduling — a request that can never
 * fit in the KV cache, a group that cannot be swapped out — finish that request with {@link
 * FinishReason#ERROR} and the reason as its message. {@link #generate} and {@link AsyncEngine}
 * report a rejected request the same way, as a finished output with {@code ERROR}.
 *
 * <p>Not thread-safe: one thread drives it (see {@link AsyncEngine} for many callers).
 */
public final class Engine implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(Engine.class.getName());

  private final EngineParts parts;
  private final Scheduler scheduler;
  private final ParallelSampling sampling;
  private final Sampler sampler; // sampling's, for the engine thread
  private final OutputProcessor processor;
  private final Map<String, RequestState> unfinished = new HashMap<>();
  private final List<RequestOutput> pendingFinals = new ArrayList<>();
  private final SplittableRandom seeds = new SplittableRandom();
  private long nextSequenceId;
  private long steps;
  private long prefillSteps;
  private int peakBlocksUsed;
  private long stepNanos;
  private long modelNanos;
  private long stepsChosenOnDevice;
  private long positionsRun; // a step runs one, a multi-step one up to num-scheduler-steps
  private int[] chosenIds = new int[0]; // tokens of a step chosen on the backend
  private float[] chosenLogprobs = new float[0];
  private SamplingRows[] samplingRows = new SamplingRows[0]; // their settings, per position
  private boolean closed;

  public Engine(EngineParts parts) {
    this.parts = requireNonNull(parts, "parts is null");
    GenerationConfig generation = parts.generation();
    TokenRules rules =
        new TokenRules(
            generation.eosTokenIds(),
            orNone(generation.forcedBosTokenId()),
            orNone(generation.forcedEosTokenId()));
    int vocabSize = parts.executor().vocabSize();
    this.scheduler =
        new Scheduler(
            parts.blocks(),
            parts.cache(),
            parts.maxNumSeqs(),
            parts.maxNumBatchedTokens(),
            parts.preemption(),
            parts.executor().supportsMultiStep() ? parts.numSchedulerSteps() - 1 : 0);
    this.sampling = new ParallelSampling(rules, vocabSize, parts.samplingThreads());
    this.sampler = sampling.sampler();
    this.processor =
        new OutputProcessor(
            scheduler, sampling, vocabSize, parts.maxModelLen(), () -> nextSequenceId++);
  }

  /**
   * An engine as configured: the chosen backend and block manager (discovered on the module/class
   * path and in the plugins directory), the checkpoint, a KV cache sized by the cache settings.
   */
  public static Engine create(EngineConfig config) {
    requireNonNull(config, "config is null");
    return create(config, Plugins.discover(config.pluginsDirectory()));
  }

  /** As {@link #create(EngineConfig)}, choosing among the given plugins. */
  public static Engine create(EngineConfig config, Plugins plugins) {
    requireNonNull(config, "config is null");
    requireNonNull(plugins, "plugins is null");
    return EngineAssembly.create(config, plugins);
  }

  /**
   * Validates and queues a request.
   *
   * @throws IllegalArgumentException if the request is invalid (see the class comment)
   * @throws IllegalStateException if the engine is closed
   */
  public void addRequest(Request request) {
    requireNonNull(request, "request is null");
    checkOpen();
    String id = request.requestId();
    if (unfinished.containsKey(id)) {
      throw new IllegalArgumentException(
          "request id '" + id + "' is already used by an unfinished request; ids must be unique");
    }
    SamplingParams params = withBadWordIds(id, request.samplingParams());
    checkBeamSearch(id, params);
    String promptText = request.encoderPrompt() instanceof Prompt.Text(String text) ? text : null;
    int[] encoderIds = encode(request.encoderPrompt());
    if (encoderIds.length == 0) {
      throw new IllegalArgumentException(
          "request '" + id + "': the encoder prompt is empty; it needs at least one token");
    }
    if (encoderIds.length > parts.maxModelLen()) {
      throw new IllegalArgumentException(
          "request '%s': the encoder prompt has %d tokens, more than the %d the model allows"
                  .formatted(id, encoderIds.length, parts.maxModelLen())
              + " (max_position_embeddings or max-model-len)");
    }
    checkTokenIds(id, "encoder", encoderIds);
    int[] decoderIds = decoderPrompt(request.decoderPrompt());
    checkTokenIds(id, "decoder", decoderIds);
    if (decoderIds.length >= parts.maxModelLen()) {
      throw new IllegalArgumentException(
          "request '%s': the decoder prompt has %d tokens, leaving no room below the model's"
                  .formatted(id, decoderIds.length)
              + " maximum length of "
              + parts.maxModelLen());
    }
    for (List<Integer> word : params.badWordsIds()) {
      checkTokenIds(id, "bad_words_ids", word.stream().mapToInt(Integer::intValue).toArray());
    }
    int maxTokens = maxTokens(params, decoderIds.length);
    params =
        params.toBuilder().minTokens(minTokens(id, params, decoderIds.length, maxTokens)).build();
    long seed = params.seed() != null ? params.seed() : seeds.nextLong();
    Sequence encoder = new Sequence(nextSequenceId++, encoderIds);
    Sequence decoder = new Sequence(nextSequenceId++, decoderIds);
    SequenceGroup group =
        new SequenceGroup(id, encoder, List.of(decoder), System.nanoTime(), params);
    BeamSearch beamSearch =
        params.isBeamSearch()
            ? new BeamSearch(
                params.numBeams(),
                params.lengthPenalty(),
                params.earlyStopping(),
                decoderIds.length,
                decoderIds.length + maxTokens,
                params.ignoreEos() ? new int[0] : sampler.rules().eosTokenIds(),
                params.logprobs() == null ? -1 : params.logprobs())
            : null;
    RequestState state =
        new RequestState(
            request, parts.tokenizer(), promptText, encoderIds, group, maxTokens, seed, beamSearch);
    unfinished.put(id, state);
    scheduler.add(group);
  }

  /**
   * Runs one step: schedules, runs the model, samples.
   *
   * @return the outputs of the requests this step touched ({@link OutputKind#FINAL_ONLY} ones only
   *     when they finish), plus those aborted or failed since the last step; each request's last
   *     output has {@code finished} true
   */
  public List<RequestOutput> step() {
    checkOpen();
    long start = System.nanoTime();
    try {
      return runStep();
    } finally {
      stepNanos += System.nanoTime() - start;
    }
  }

  private List<RequestOutput> runStep() {
    List<RequestOutput> outputs = new ArrayList<>(pendingFinals);
    pendingFinals.clear();
    SchedulerOutput scheduled = scheduler.schedule();
    int used = parts.cache().numGpuBlocks() - parts.blocks().numFreeGpuBlocks();
    peakBlocksUsed = Math.max(peakBlocksUsed, used);
    for (SchedulerOutput.FailedGroup failed : scheduled.failed()) {
      RequestState state = unfinished.remove(failed.group().requestId());
      LOG.log(System.Logger.Level.WARNING, failed.reason());
      state.finishGroup(FinishReason.ERROR, failed.reason(), System.nanoTime());
      outputs.add(state.snapshot());
    }
    if (scheduled.isEmpty()) {
      return outputs;
    }
    steps++;
    if (scheduled.prefill()) {
      prefillSteps++;
    }
    List<RequestState> states = new ArrayList<>(scheduled.groups().size());
    int rows = 0;
    for (SequenceGroup group : scheduled.groups()) {
      states.add(unfinished.get(group.requestId()));
      rows += group.numSequences(SequenceStatus.RUNNING);
    }
    long modelStart = System.nanoTime();
    StepExecutor executor = parts.executor();
    OutputProcessor.StepChoice choice =
        processor.deviceChoice(
            states, executor.samplesOnDevice(), 1 + scheduled.numLookaheadSlots());
    int positions = choice.positions();
    if (chosenIds.length < positions * rows) {
      chosenIds = new int[2 * positions * rows];
      chosenLogprobs = new float[2 * positions * rows];
    }
    if (choice.where() != OutputProcessor.Choice.HOST
        && executor.executeChoosing(
            scheduled, positions, drawSamplingRows(choice, states), chosenIds, chosenLogprobs)) {
      positionsRun += positions;
      if (choice.hostRows() > 0) {
        // some rows need the host's sampler: only their logits come back
        float[] logits = executor.logitsOfRows(processor.hostRows(), choice.hostRows());
        modelNanos += System.nanoTime() - modelStart;
        processor.processMixed(states, chosenIds, chosenLogprobs, logits, System.nanoTime());
      } else {
        modelNanos += System.nanoTime() - modelStart;
        stepsChosenOnDevice++;
        processor.processChosen(states, positions, chosenIds, chosenLogprobs, System.nanoTime());
      }
    } else {
      float[] logits = executor.execute(scheduled);
      modelNanos += System.nanoTime() - modelStart;
      positionsRun++;
      processor.process(states, logits, System.nanoTime());
    }
    scheduler.removeFinished();
    for (RequestState state : states) {
      if (state.isFinished()) {
        unfinished.remove(state.requestId());
        outputs.add(state.snapshot());
      } else if (state.params().outputKind() == OutputKind.CUMULATIVE) {
        outputs.add(state.snapshot());
      }
    }
    return outputs;
  }

  /** For a sampled step chosen on the backend, each position's rows; null when greedy. */
  private SamplingRows[] drawSamplingRows(
      OutputProcessor.StepChoice choice, List<RequestState> states) {
    if (choice.where() != OutputProcessor.Choice.SAMPLE) {
      return null;
    }
    if (samplingRows.length < choice.positions()) {
      samplingRows = new SamplingRows[choice.positions()];
      Arrays.setAll(samplingRows, i -> new SamplingRows());
    }
    for (int j = 0; j < choice.positions(); j++) {
      processor.drawSamplingRows(states, samplingRows[j]);
    }
    return samplingRows;
  }

  /**
   * Aborts an unfinished request and frees its blocks; its final output (finish reason ABORT) comes
   * with the next {@link #step}.
   *
   * @return false if no unfinished request has that id
   */
  public boolean abort(String requestId) {
    checkOpen();
    RequestState state = unfinished.remove(requireNonNull(requestId, "requestId is null"));
    if (state == null) {
      return false;
    }
    scheduler.abort(requestId);
    state.finishGroup(FinishReason.ABORT, null, System.nanoTime());
    pendingFinals.add(state.snapshot());
    return true;
  }

  /** Whether a request is unfinished or a final output is still to be returned by step. */
  public boolean hasUnfinished() {
    return !unfinished.isEmpty() || !pendingFinals.isEmpty();
  }

  /**
   * Runs the requests to the end; the engine must have no other unfinished request. As vLLM's
   * offline {@code LLM.generate}, it runs them as {@link OutputKind#FINAL_ONLY}: nothing is
   * produced per step that would only be thrown away.
   *
   * @return one final output per request, in input order; rejected requests finish with ERROR
   */
  public List<RequestOutput> generate(List<Request> requests) {
    checkOpen();
    if (hasUnfinished()) {
      throw new IllegalStateException(
          "generate needs an idle engine, but " + unfinished.size() + " requests are unfinished");
    }
    RequestOutput[] results = new RequestOutput[requests.size()];
    Map<String, Integer> positions = new LinkedHashMap<>();
    for (int i = 0; i < requests.size(); i++) {
      Request request = requests.get(i);
      try {
        addRequest(
            request.withSamplingParams(
                request.samplingParams().toBuilder().outputKind(OutputKind.FINAL_ONLY).build()));
        positions.put(request.requestId(), i);
      } catch (IllegalArgumentException e) {
        results[i] = rejected(request, e.getMessage());
      }
    }
    while (hasUnfinished()) {
      for (RequestOutput output : step()) {
        if (output.finished()) {
          results[positions.get(output.requestId())] = output;
        }
      }
    }
    return Arrays.asList(results);
  }

  /** A finished output with ERROR for a request that was never queued. */
  static RequestOutput rejected(Request request, String message) {
    long now = System.nanoTime();
    String prompt = request.encoderPrompt() instanceof Prompt.Text(String text) ? text : null;
    return new RequestOutput(
        request.requestId(),
        prompt,
        new int[0],
        List.of(new CompletionOutput(0, "", new int[0], 0, 0, null, FinishReason.ERROR, message)),
        true,
        new RequestMetrics(now, 0, now, new long[0]));
  }

  /**
   * Sampling parameters with the model's generation defaults ({@code generation_config.json}):
   * max_new_tokens, num_beams, length_penalty, early_stopping, repetition_penalty,
   * no_repeat_ngram_size, bad_words_ids, and the sampling settings when {@code do_sample} is true
   * (else greedy). min_tokens left null takes min_new_tokens and min_length when a request is
   * added, and max_tokens left null max_length, as both depend on its decoder prompt. Settings that
   * are not applied are logged when the model loads ({@link GenerationConfig#notApplied()}).
   */
  public SamplingParams.Builder defaultSamplingParams() {
    GenerationConfig g = parts.generation();
    SamplingParams.Builder builder =
        SamplingParams.builder()
            .maxTokens(g.maxNewTokens())
            .numBeams(g.numBeams())
            .lengthPenalty(g.lengthPenalty())
            .earlyStopping(g.earlyStopping())
            .repetitionPenalty(g.repetitionPenalty())
            .noRepeatNgramSize(g.noRepeatNgramSize())
            .badWordsIds(g.badWordsIds());
    if (g.doSample() && g.numBeams() == 1) {
      builder.temperature(g.temperature()).topP(g.topP()).topK(g.topK() > 0 ? g.topK() : -1);
    }
    return builder;
  }

  public EngineStats stats() {
    return new EngineStats(
        scheduler.stats(),
        steps,
        prefillSteps,
        parts.cache().numGpuBlocks(),
        parts.blocks().numFreeGpuBlocks(),
        peakBlocksUsed,
        parts.cache().numCpuBlocks(),
        parts.blocks().numFreeCpuBlocks(),
        stepNanos,
        modelNanos,
        stepsChosenOnDevice,
        positionsRun);
  }

  /**
   * Audits the block manager (see {@link
   * dev.tandem.api.block.BlockSpaceManager#checkInvariants()}); for tests and debugging.
   */
  public void checkBlockInvariants() {
    parts.blocks().checkInvariants();
  }

  /** The model's vocabulary size (rows of the logits). */
  public int vocabSize() {
    return sampler.vocabSize();
  }

  /** The backend and device the model runs on, in words. */
  public String device() {
    return parts.executor().device();
  }

  public int maxModelLen() {
    return parts.maxModelLen();
  }

  /** Frees the model's device memory and KV cache and the tokenizer; unfinished requests end. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      parts.executor().close();
    } finally {
      sampling.close();
      parts.tokenizer().close();
    }
  }

  private int[] encode(Prompt prompt) {
    return switch (prompt) {
      case Prompt.Text(String text) -> text.isEmpty() ? new int[0] : parts.tokenizer().encode(text);
      case Prompt.Tokens tokens -> tokens.ids();
    };
  }

  /**
   * The decoder prompt: {@code [decoder_start_token_id]} by default; a given prompt gets the start
   * token prepended when it lacks it, and text loses the EOS its tokenizer appends.
   */
  private int[] decoderPrompt(Prompt prompt) {
    int start = parts.generation().decoderStartTokenId();
    if (prompt == null) {
      return new int[] {start};
    }
    int[] ids = encode(prompt);
    if (prompt instanceof Prompt.Text) {
      int end = ids.length;
      while (end > 0 && sampler.rules().isEos(ids[end - 1])) {
        end--;
      }
      ids = Arrays.copyOf(ids, end);
    }
    if (ids.length > 0 && ids[0] == start) {
      return ids;
    }
    int[] withStart = new int[ids.length + 1];
    withStart[0] = start;
    System.arraycopy(ids, 0, withStart, 1, ids.length);
    return withStart;
  }

  /** HuggingFace's {@code max_length} when a generation config sets neither limit. */
  static final int DEFAULT_MAX_LENGTH = 20;

  /**
   * max_tokens, else the generation config's max_new_tokens, else its max_length (HuggingFace's
   * default of 20 when unset) minus the decoder prompt; never past the model's maximum length.
   */
  private int maxTokens(SamplingParams params, int decoderPromptLength) {
    GenerationConfig g = parts.generation();
    int room = parts.maxModelLen() - decoderPromptLength;
    int wanted;
    if (params.maxTokens() != null) {
      wanted = params.maxTokens();
    } else if (g.maxNewTokens() != null) {
      wanted = g.maxNewTokens();
    } else {
      int maxLength = g.maxLength() != null ? g.maxLength() : DEFAULT_MAX_LENGTH;
      wanted = Math.max(1, maxLength - decoderPromptLength);
    }
    return Math.min(wanted, room);
  }

  /**
   * The request's min_tokens, else the model's: HuggingFace's min_new_tokens and min_length (which
   * counts the decoder prompt), whichever asks for more, capped by maxTokens as HuggingFace's
   * length limit caps them.
   */
  private int minTokens(String id, SamplingParams params, int decoderPromptLength, int maxTokens) {
    if (params.minTokens() != null) {
      if (params.minTokens() > maxTokens) {
        throw new IllegalArgumentException(
            "request '%s': min_tokens=%d is more than the %d tokens it may generate"
                .formatted(id, params.minTokens(), maxTokens));
      }
      return params.minTokens();
    }
    GenerationConfig g = parts.generation();
    int wanted = g.minNewTokens() != null ? g.minNewTokens() : g.minLength() - decoderPromptLength;
    return Math.clamp(wanted, 0, maxTokens);
  }

  /** {@code params} with its bad_words tokenized into more bad_words_ids. */
  private SamplingParams withBadWordIds(String id, SamplingParams params) {
    if (params.badWords().isEmpty()) {
      return params;
    }
    List<List<Integer>> ids = new ArrayList<>(params.badWordsIds());
    try {
      ids.addAll(BadWords.tokenIds(parts.tokenizer(), params.badWords()));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("request '" + id + "': " + e.getMessage(), e);
    }
    return params.toBuilder().badWordsIds(ids).badWords(List.of()).build();
  }

  private void checkTokenIds(String id, String which, int[] ids) {
    int vocab = sampler.vocabSize();
    for (int token : ids) {
      if (token < 0 || token >= vocab) {
        throw new IllegalArgumentException(
            "request '%s': %s token id %d is outside the vocabulary [0, %d)"
                .formatted(id, which, token, vocab));
      }
    }
  }

  /**
   * Beam search scores as HuggingFace's does (repetition penalty and the token rules apply); what
   * it would otherwise ignore in silence is an error.
   */
  private static void checkBeamSearch(String id, SamplingParams params) {
    if (!params.isBeamSearch()) {
      return;
    }
    String beams = "request '" + id + "': beam search (num_beams=" + params.numBeams() + ") ";
    if (params.temperature() != 0
        || params.topP() != 1
        || params.topK() != -1
        || params.minP() != 0) {
      throw new IllegalArgumentException(
          beams + "does not sample; temperature must be 0, top_p 1, top_k -1 and min_p 0");
    }
    if (params.presencePenalty() != 0 || params.frequencyPenalty() != 0) {
      throw new IllegalArgumentException(
          beams
              + "takes repetition_penalty but not presence_penalty or frequency_penalty; leave"
              + " them 0");
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the engine is closed");
    }
  }

  private static int orNone(Integer token) {
    return token == null ? TokenRules.NONE : token;
  }
}
