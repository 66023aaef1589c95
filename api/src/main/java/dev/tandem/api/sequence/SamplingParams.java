package dev.tandem.api.sequence;

import java.util.List;
import java.util.Objects;

/**
 * How to choose the next tokens of a request, with vLLM's parameter names and meanings. Built with
 * {@link #builder()}; every invalid value is rejected with the parameter's name and its allowed
 * range.
 *
 * @param n number of output sequences to return
 * @param temperature 0 means greedy
 * @param topP cumulative probability of the top tokens to consider, in (0, 1]
 * @param topK number of top tokens to consider; -1 considers all
 * @param minP minimum probability relative to the most likely token, in [0, 1]
 * @param seed per-request random seed, or null for a random one
 * @param maxTokens maximum number of generated tokens, or null for the model's default
 * @param minTokens EOS and stop token ids are suppressed until this many tokens were generated, or
 *     null for the model's default (HuggingFace's min_new_tokens, else its min_length, which counts
 *     the decoder prompt; never more than max_tokens)
 * @param logprobs number of top log-probabilities to return per token, or null for none
 * @param numBeams 1 for sampling/greedy; more for beam search
 * @param lengthPenalty beam search: score = sum of logprobs / length^lengthPenalty
 * @param earlyStopping beam search: stop when numBeams finished candidates exist
 * @param noRepeatNgramSize HuggingFace's no_repeat_ngram_size: no n-gram of this size occurs twice
 *     in the decoder sequence (its prompt included); 0 turns it off
 * @param badWordsIds HuggingFace's bad_words_ids: token sequences never generated (the last token
 *     of each is banned wherever the ones before it end the sequence; a single token, everywhere)
 * @param outputKind an output every step ({@link OutputKind#CUMULATIVE}, the default) or only the
 *     final one
 */
public record SamplingParams(
    int n,
    double temperature,
    double topP,
    int topK,
    double minP,
    Long seed,
    double repetitionPenalty,
    double presencePenalty,
    double frequencyPenalty,
    Integer maxTokens,
    Integer minTokens,
    List<String> stop,
    List<Integer> stopTokenIds,
    boolean ignoreEos,
    Integer logprobs,
    boolean skipSpecialTokens,
    int numBeams,
    double lengthPenalty,
    boolean earlyStopping,
    int noRepeatNgramSize,
    List<List<Integer>> badWordsIds,
    List<String> badWords,
    OutputKind outputKind) {

  public SamplingParams {
    Objects.requireNonNull(outputKind, "outputKind is null");
    stop = List.copyOf(Objects.requireNonNull(stop, "stop is null"));
    stopTokenIds = List.copyOf(Objects.requireNonNull(stopTokenIds, "stopTokenIds is null"));
    badWordsIds =
        Objects.requireNonNull(badWordsIds, "badWordsIds is null").stream()
            .map(List::copyOf)
            .toList();
    badWords = List.copyOf(Objects.requireNonNull(badWords, "badWords is null"));
    check(n >= 1, "n", n, "must be at least 1");
    check(
        temperature >= 0 && Double.isFinite(temperature),
        "temperature",
        temperature,
        "must be >= 0");
    check(topP > 0 && topP <= 1, "top_p", topP, "must be in (0, 1]");
    check(topK == -1 || topK >= 1, "top_k", topK, "must be -1 (disabled) or at least 1");
    check(minP >= 0 && minP <= 1, "min_p", minP, "must be in [0, 1]");
    check(
        repetitionPenalty > 0 && Double.isFinite(repetitionPenalty),
        "repetition_penalty",
        repetitionPenalty,
        "must be > 0");
    check(
        presencePenalty >= -2 && presencePenalty <= 2,
        "presence_penalty",
        presencePenalty,
        "must be in [-2, 2]");
    check(
        frequencyPenalty >= -2 && frequencyPenalty <= 2,
        "frequency_penalty",
        frequencyPenalty,
        "must be in [-2, 2]");
    check(maxTokens == null || maxTokens >= 1, "max_tokens", maxTokens, "must be at least 1");
    check(minTokens == null || minTokens >= 0, "min_tokens", minTokens, "must be >= 0");
    check(
        maxTokens == null || minTokens == null || minTokens <= maxTokens,
        "min_tokens",
        minTokens,
        "must be <= max_tokens (" + maxTokens + ")");
    check(
        logprobs == null || (logprobs >= 0 && logprobs <= 20),
        "logprobs",
        logprobs,
        "must be in [0, 20]");
    check(numBeams >= 1, "num_beams", numBeams, "must be at least 1");
    check(numBeams == 1 || n <= numBeams, "n", n, "must be <= num_beams (" + numBeams + ")");
    check(Double.isFinite(lengthPenalty), "length_penalty", lengthPenalty, "must be finite");
    for (String s : stop) {
      check(!s.isEmpty(), "stop", "\"\"", "stop strings must not be empty");
    }
    check(noRepeatNgramSize >= 0, "no_repeat_ngram_size", noRepeatNgramSize, "must be >= 0");
    for (List<Integer> word : badWordsIds) {
      check(
          !word.isEmpty() && word.stream().allMatch(id -> id >= 0),
          "bad_words_ids",
          word,
          "each entry must be a non-empty list of token ids >= 0");
    }
    for (String word : badWords) {
      check(!word.isBlank(), "bad_words", "\"" + word + "\"", "words must not be blank");
    }
  }

  private static void check(boolean ok, String name, Object value, String allowed) {
    if (!ok) {
      throw new IllegalArgumentException(
          "invalid sampling parameter " + name + "=" + value + ": " + allowed);
    }
  }

  public boolean isGreedy() {
    return numBeams == 1 && temperature == 0;
  }

  public boolean isBeamSearch() {
    return numBeams > 1;
  }

  /** Greedy decoding with every other parameter at its default. */
  public static SamplingParams greedy() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    return new Builder()
        .n(n)
        .temperature(temperature)
        .topP(topP)
        .topK(topK)
        .minP(minP)
        .seed(seed)
        .repetitionPenalty(repetitionPenalty)
        .presencePenalty(presencePenalty)
        .frequencyPenalty(frequencyPenalty)
        .maxTokens(maxTokens)
        .minTokens(minTokens)
        .stop(stop)
        .stopTokenIds(stopTokenIds)
        .ignoreEos(ignoreEos)
        .logprobs(logprobs)
        .skipSpecialTokens(skipSpecialTokens)
        .numBeams(numBeams)
        .lengthPenalty(lengthPenalty)
        .earlyStopping(earlyStopping)
        .noRepeatNgramSize(noRepeatNgramSize)
        .badWordsIds(badWordsIds)
        .badWords(badWords)
        .outputKind(outputKind);
  }

  /** Builder with vLLM's defaults (greedy: temperature 0). */
  public static final class Builder {
    private int n = 1;
    private double temperature = 0;
    private double topP = 1;
    private int topK = -1;
    private double minP = 0;
    private Long seed;
    private double repetitionPenalty = 1;
    private double presencePenalty = 0;
    private double frequencyPenalty = 0;
    private Integer maxTokens;
    private Integer minTokens;
    private List<String> stop = List.of();
    private List<Integer> stopTokenIds = List.of();
    private boolean ignoreEos;
    private Integer logprobs;
    private boolean skipSpecialTokens = true;
    private int numBeams = 1;
    private double lengthPenalty = 1;
    private boolean earlyStopping;
    private int noRepeatNgramSize;
    private List<List<Integer>> badWordsIds = List.of();
    private List<String> badWords = List.of();
    private OutputKind outputKind = OutputKind.CUMULATIVE;

    private Builder() {}

    public Builder n(int v) {
      n = v;
      return this;
    }

    public Builder temperature(double v) {
      temperature = v;
      return this;
    }

    public Builder topP(double v) {
      topP = v;
      return this;
    }

    public Builder topK(int v) {
      topK = v;
      return this;
    }

    public Builder minP(double v) {
      minP = v;
      return this;
    }

    public Builder seed(Long v) {
      seed = v;
      return this;
    }

    public Builder repetitionPenalty(double v) {
      repetitionPenalty = v;
      return this;
    }

    public Builder presencePenalty(double v) {
      presencePenalty = v;
      return this;
    }

    public Builder frequencyPenalty(double v) {
      frequencyPenalty = v;
      return this;
    }

    public Builder maxTokens(Integer v) {
      maxTokens = v;
      return this;
    }

    public Builder minTokens(Integer v) {
      minTokens = v;
      return this;
    }

    public Builder stop(List<String> v) {
      stop = v;
      return this;
    }

    public Builder stopTokenIds(List<Integer> v) {
      stopTokenIds = v;
      return this;
    }

    public Builder ignoreEos(boolean v) {
      ignoreEos = v;
      return this;
    }

    public Builder logprobs(Integer v) {
      logprobs = v;
      return this;
    }

    public Builder skipSpecialTokens(boolean v) {
      skipSpecialTokens = v;
      return this;
    }

    public Builder numBeams(int v) {
      numBeams = v;
      return this;
    }

    public Builder lengthPenalty(double v) {
      lengthPenalty = v;
      return this;
    }

    public Builder earlyStopping(boolean v) {
      earlyStopping = v;
      return this;
    }

    public Builder noRepeatNgramSize(int v) {
      noRepeatNgramSize = v;
      return this;
    }

    public Builder badWordsIds(List<List<Integer>> v) {
      badWordsIds = v;
      return this;
    }

    public Builder badWords(List<String> v) {
      badWords = v;
      return this;
    }

    public Builder outputKind(OutputKind v) {
      outputKind = v;
      return this;
    }

    public SamplingParams build() {
      return new SamplingParams(
          n,
          temperature,
          topP,
          topK,
          minP,
          seed,
          repetitionPenalty,
          presencePenalty,
          frequencyPenalty,
          maxTokens,
          minTokens,
          stop,
          stopTokenIds,
          ignoreEos,
          logprobs,
          skipSpecialTokens,
          numBeams,
          lengthPenalty,
          earlyStopping,
          noRepeatNgramSize,
          badWordsIds,
          badWords,
          outputKind);
    }
  }
}
