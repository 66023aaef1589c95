package dev.tandem.core.checkpoint;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * The generation defaults of a checkpoint: {@code generation_config.json} merged over the
 * generation keys of {@code config.json} (BART-family configs keep e.g. {@code forced_eos_token_id}
 * only in config.json, and HuggingFace applies it). Boxed fields are null when neither file sets
 * them; the others carry HuggingFace's defaults.
 *
 * @param decoderStartTokenId first decoder input; falls back to {@code bos_token_id} as in
 *     HuggingFace
 * @param eosTokenIds tokens that end a sequence (may be empty)
 * @param padTokenId padding token; falls back to the first EOS token as in HuggingFace
 * @param maxLength {@code max_length}: prompt-independent cap on the decoder sequence length
 *     (HuggingFace uses 20 when neither this nor maxNewTokens is set)
 * @param badWordsIds {@code bad_words_ids} (Marian's files ban the pad token so), empty when unset
 * @param notApplied generation settings the files set (away from HuggingFace's default) that Tandem
 *     does not apply, as {@code key=value}: e.g. typical_p, num_beam_groups, suppress_tokens
 */
public record GenerationConfig(
    int decoderStartTokenId,
    int[] eosTokenIds,
    int padTokenId,
    Integer bosTokenId,
    Integer forcedBosTokenId,
    Integer forcedEosTokenId,
    Integer maxLength,
    Integer maxNewTokens,
    int minLength,
    Integer minNewTokens,
    int numBeams,
    double lengthPenalty,
    boolean earlyStopping,
    boolean doSample,
    double temperature,
    int topK,
    double topP,
    double repetitionPenalty,
    int noRepeatNgramSize,
    List<List<Integer>> badWordsIds,
    List<String> notApplied) {

  /**
   * HuggingFace generation settings Tandem does not apply, with the value that means "off" (JSON
   * text; null: any value turns it on).
   */
  private static final Map<String, String> NOT_APPLIED_DEFAULTS =
      new TreeMap<>(
          Map.ofEntries(
              Map.entry("typical_p", "1"),
              Map.entry("epsilon_cutoff", "0"),
              Map.entry("eta_cutoff", "0"),
              Map.entry("diversity_penalty", "0"),
              Map.entry("num_beam_groups", "1"),
              Map.entry("num_return_sequences", "1"),
              Map.entry("encoder_no_repeat_ngram_size", "0"),
              Map.entry("encoder_repetition_penalty", "1"),
              Map.entry("renormalize_logits", "false"),
              Map.entry("exponential_decay_length_penalty", "null"),
              Map.entry("suppress_tokens", "null"),
              Map.entry("begin_suppress_tokens", "null"),
              Map.entry("forced_decoder_ids", "null"),
              Map.entry("sequence_bias", "null"),
              Map.entry("force_words_ids", "null"),
              Map.entry("penalty_alpha", "null"),
              Map.entry("guidance_scale", "null")));

  public GenerationConfig {
    eosTokenIds = requireNonNull(eosTokenIds, "eosTokenIds is null").clone();
    badWordsIds = List.copyOf(requireNonNull(badWordsIds, "badWordsIds is null"));
    notApplied = List.copyOf(requireNonNull(notApplied, "notApplied is null"));
  }

  @Override
  public int[] eosTokenIds() {
    return eosTokenIds.clone();
  }

  /** Whether {@code tokenId} is one of the EOS tokens. */
  public boolean isEos(int tokenId) {
    for (int eos : eosTokenIds) {
      if (eos == tokenId) {
        return true;
      }
    }
    return false;
  }

  /**
   * Merges {@code generationConfig} (may be null when the checkpoint has no generation_config.json)
   * over {@code config}.
   */
  public static GenerationConfig of(ConfigJson config, ConfigJson generationConfig) {
    requireNonNull(config, "config is null");
    Merged m = new Merged(generationConfig, config);
    OptionalInt bos = m.optInt("bos_token_id");
    int[] eos = m.get(c -> c.optIntArray("eos_token_id"), "eos_token_id").orElse(new int[0]);
    int decoderStart =
        m.optInt("decoder_start_token_id")
            .orElseGet(() -> bos.orElseThrow(() -> m.missing("decoder_start_token_id")));
    OptionalInt pad = m.optInt("pad_token_id");
    if (pad.isEmpty() && eos.length == 0) {
      throw m.missing("pad_token_id");
    }
    return new GenerationConfig(
        decoderStart,
        eos,
        pad.isPresent() ? pad.getAsInt() : eos[0],
        boxed(bos),
        boxed(m.optInt("forced_bos_token_id")),
        boxed(m.optInt("forced_eos_token_id")),
        boxed(m.optInt("max_length")),
        boxed(m.optInt("max_new_tokens")),
        m.optInt("min_length").orElse(0),
        boxed(m.optInt("min_new_tokens")),
        m.optInt("num_beams").orElse(1),
        m.optDouble("length_penalty").orElse(1.0),
        m.earlyStopping(),
        m.get(c -> c.optBoolean("do_sample"), "do_sample").orElse(false),
        m.optDouble("temperature").orElse(1.0),
        m.optInt("top_k").orElse(50),
        m.optDouble("top_p").orElse(1.0),
        m.optDouble("repetition_penalty").orElse(1.0),
        m.optInt("no_repeat_ngram_size").orElse(0),
        m.get(c -> c.optIntArrays("bad_words_ids"), "bad_words_ids").orElse(List.of()),
        notApplied(m));
  }

  /** The {@link #NOT_APPLIED_DEFAULTS} keys set to something else, as {@code key=value}. */
  private static List<String> notApplied(Merged m) {
    List<String> found = new ArrayList<>();
    NOT_APPLIED_DEFAULTS.forEach(
        (key, off) ->
            m.get(c -> c.optJson(key), key)
                .filter(value -> !sameJson(value, off))
                .ifPresent(value -> found.add(key + "=" + value)));
    return found;
  }

  /** JSON texts equal as numbers (1 and 1.0), else as text. */
  private static boolean sameJson(String a, String b) {
    try {
      return Double.parseDouble(a) == Double.parseDouble(b);
    } catch (NumberFormatException e) {
      return a.equals(b);
    }
  }

  private static Integer boxed(OptionalInt value) {
    return value.isPresent() ? value.getAsInt() : null;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GenerationConfig other
        && toString().equals(other.toString()); // every component appears in toString
  }

  @Override
  public int hashCode() {
    return toString().hashCode();
  }

  @Override
  public String toString() {
    return "GenerationConfig[decoderStartTokenId=%d, eosTokenIds=%s, padTokenId=%d, bosTokenId=%s, forcedBosTokenId=%s, forcedEosTokenId=%s, maxLength=%s, maxNewTokens=%s, minLength=%d, minNewTokens=%s, numBeams=%d, lengthPenalty=%s, earlyStopping=%s, doSample=%s, temperature=%s, topK=%d, topP=%s, repetitionPenalty=%s, noRepeatNgramSize=%d, badWordsIds=%s, notApplied=%s]"
        .formatted(
            decoderStartTokenId,
            Arrays.toString(eosTokenIds),
            padTokenId,
            bosTokenId,
            forcedBosTokenId,
            forcedEosTokenId,
            maxLength,
            maxNewTokens,
            minLength,
            minNewTokens,
            numBeams,
            lengthPenalty,
            earlyStopping,
            doSample,
            temperature,
            topK,
            topP,
            repetitionPenalty,
            noRepeatNgramSize,
            badWordsIds,
            notApplied);
  }

  /** Looks a key up in generation_config.json first (when there is one), then config.json. */
  private record Merged(ConfigJson primary, ConfigJson fallback) {
    <T> Optional<T> get(Function<ConfigJson, Optional<T>> getter, String key) {
      return primary != null && primary.has(key) ? getter.apply(primary) : getter.apply(fallback);
    }

    OptionalInt optInt(String key) {
      return primary != null && primary.has(key) ? primary.optInt(key) : fallback.optInt(key);
    }

    OptionalDouble optDouble(String key) {
      return primary != null && primary.has(key) ? primary.optDouble(key) : fallback.optDouble(key);
    }

    /** {@code early_stopping} is true, false or "never" (which, for us, is false). */
    boolean earlyStopping() {
      String key = "early_stopping";
      ConfigJson source = primary != null && primary.has(key) ? primary : fallback;
      Optional<String> raw = source.optJson(key);
      if (raw.isEmpty() || raw.get().equals("\"never\"")) {
        return false;
      }
      return source.getBoolean(key);
    }

    CheckpointException missing(String key) {
      return new CheckpointException(
          "required key '"
              + key
              + "' is missing from "
              + (primary == null ? "" : primary.source() + " and ")
              + fallback.source()
              + (key.equals("decoder_start_token_id") ? " (and so is 'bos_token_id')" : "")
              + (key.equals("pad_token_id") ? " (and there is no 'eos_token_id' to use)" : ""));
    }
  }
}
