package dev.tandem.cli;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.core.engine.Prompt;
import dev.tandem.core.engine.Request;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiConsumer;

/**
 * Reads an input file of JSON lines, one request per non-blank line:
 *
 * <pre>{@code
 * {"prompt": "to words: 12"}
 * {"prompt_token_ids": [3, 9, 5], "request_id": "a", "max_tokens": 8, "stop": ["."]}
 * {"prompt": "...", "decoder_prompt": "..."}   or "decoder_prompt_token_ids": [...]
 * }</pre>
 *
 * Any of vLLM's sampling parameter names, or HuggingFace's {@code no_repeat_ngram_size} and {@code
 * bad_words_ids} ({@link #SAMPLING_KEYS}), overrides the command line's value for that line. A line
 * that is not such an object becomes {@link InputLine.Invalid} with a message naming the line, the
 * key and what is allowed; the other lines are read on.
 */
final class JsonLinesInput {

  private static final ObjectMapper JSON = new ObjectMapper();

  private static final Set<String> PROMPT_KEYS =
      Set.of(
          "request_id", "prompt", "prompt_token_ids", "decoder_prompt", "decoder_prompt_token_ids");

  /** Per-line sampling overrides, by vLLM's name. */
  private static final Map<String, BiConsumer<SamplingParams.Builder, JsonNode>> SAMPLING_KEYS =
      Map.ofEntries(
          Map.entry("n", (b, v) -> b.n(integer("n", v))),
          Map.entry("temperature", (b, v) -> b.temperature(number("temperature", v))),
          Map.entry("top_p", (b, v) -> b.topP(number("top_p", v))),
          Map.entry("top_k", (b, v) -> b.topK(integer("top_k", v))),
          Map.entry("min_p", (b, v) -> b.minP(number("min_p", v))),
          Map.entry("seed", (b, v) -> b.seed(v.isNull() ? null : longInteger("seed", v))),
          Map.entry(
              "repetition_penalty", (b, v) -> b.repetitionPenalty(number("repetition_penalty", v))),
          Map.entry("presence_penalty", (b, v) -> b.presencePenalty(number("presence_penalty", v))),
          Map.entry(
              "frequency_penalty", (b, v) -> b.frequencyPenalty(number("frequency_penalty", v))),
          Map.entry(
              "max_tokens", (b, v) -> b.maxTokens(v.isNull() ? null : integer("max_tokens", v))),
          Map.entry("min_tokens", (b, v) -> b.minTokens(integer("min_tokens", v))),
          Map.entry("stop", (b, v) -> b.stop(strings("stop", v))),
          Map.entry("stop_token_ids", (b, v) -> b.stopTokenIds(integers("stop_token_ids", v))),
          Map.entry("ignore_eos", (b, v) -> b.ignoreEos(bool("ignore_eos", v))),
          Map.entry("logprobs", (b, v) -> b.logprobs(logprobs(v))),
          Map.entry(
              "skip_special_tokens", (b, v) -> b.skipSpecialTokens(bool("skip_special_tokens", v))),
          Map.entry("num_beams", (b, v) -> b.numBeams(integer("num_beams", v))),
          Map.entry("length_penalty", (b, v) -> b.lengthPenalty(number("length_penalty", v))),
          Map.entry("early_stopping", (b, v) -> b.earlyStopping(bool("early_stopping", v))),
          Map.entry(
              "no_repeat_ngram_size",
              (b, v) -> b.noRepeatNgramSize(integer("no_repeat_ngram_size", v))),
          Map.entry("bad_words_ids", (b, v) -> b.badWordsIds(integerLists("bad_words_ids", v))),
          Map.entry("bad_words", (b, v) -> b.badWords(strings("bad_words", v))));

  /** A value of the wrong type or range, or a missing or extra key. */
  private static final class LineException extends RuntimeException {
    LineException(String message) {
      super(message);
    }
  }

  private JsonLinesInput() {}

  /**
   * Reads every line of {@code file}; request ids default to the line's index among the requests
   * ("0", "1", ...).
   *
   * @param base the sampling parameters of lines that override none
   * @throws IOException if the file cannot be read
   */
  static List<InputLine> read(Path file, SamplingParams base) throws IOException {
    requireNonNull(file, "file is null");
    requireNonNull(base, "base is null");
    List<InputLine> lines = new ArrayList<>();
    try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      int number = 0;
      for (String text = reader.readLine(); text != null; text = reader.readLine()) {
        number++;
        if (!text.isBlank()) {
          lines.add(parse(text, "line " + number, String.valueOf(lines.size()), base));
        }
      }
    }
    return lines;
  }

  /** One line as a request, or why it is not one. */
  static InputLine parse(String text, String origin, String defaultId, SamplingParams base) {
    JsonNode node;
    try {
      node = JSON.readTree(text);
    } catch (JsonProcessingException e) {
      return new InputLine.Invalid(
          origin, null, null, origin + ": not JSON: " + e.getOriginalMessage());
    }
    if (node == null || !node.isObject()) {
      return new InputLine.Invalid(
          origin, null, null, origin + ": expected a JSON object such as {\"prompt\": \"...\"}");
    }
    String requestId = node.hasNonNull("request_id") ? node.get("request_id").asText() : defaultId;
    String prompt = node.path("prompt").isTextual() ? node.get("prompt").asText() : null;
    try {
      checkKeys(node);
      Prompt encoder = prompt(node, "prompt", "prompt_token_ids", true);
      Prompt decoder = prompt(node, "decoder_prompt", "decoder_prompt_token_ids", false);
      SamplingParams.Builder params = base.toBuilder();
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> field = it.next();
        BiConsumer<SamplingParams.Builder, JsonNode> setter = SAMPLING_KEYS.get(field.getKey());
        if (setter != null) {
          setter.accept(params, field.getValue());
        }
      }
      return new InputLine.Valid(origin, new Request(requestId, encoder, decoder, params.build()));
    } catch (LineException | IllegalArgumentException e) {
      return new InputLine.Invalid(origin, requestId, prompt, origin + ": " + e.getMessage());
    }
  }

  private static void checkKeys(JsonNode node) {
    for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!PROMPT_KEYS.contains(name) && !SAMPLING_KEYS.containsKey(name)) {
        Set<String> known = new TreeSet<>(PROMPT_KEYS);
        known.addAll(SAMPLING_KEYS.keySet());
        throw new LineException("unknown key \"" + name + "\"; known keys: " + known);
      }
    }
  }

  /** The text or the token ids under one of two keys; at most one, and one if required. */
  private static Prompt prompt(JsonNode node, String textKey, String idsKey, boolean required) {
    boolean hasText = node.hasNonNull(textKey);
    boolean hasIds = node.hasNonNull(idsKey);
    if (hasText && hasIds) {
      throw new LineException("give \"" + textKey + "\" or \"" + idsKey + "\", not both");
    }
    if (hasText) {
      JsonNode text = node.get(textKey);
      if (!text.isTextual()) {
        throw new LineException("\"" + textKey + "\" must be a string, got " + text);
      }
      return Prompt.text(text.asText());
    }
    if (hasIds) {
      return Prompt.tokens(integers(idsKey, node.get(idsKey)).stream().mapToInt(i -> i).toArray());
    }
    if (required) {
      throw new LineException("needs \"" + textKey + "\" (text) or \"" + idsKey + "\" (token ids)");
    }
    return null;
  }

  private static int integer(String key, JsonNode value) {
    if (!value.canConvertToInt() || !value.isIntegralNumber()) {
      throw new LineException("\"" + key + "\" must be an integer, got " + value);
    }
    return value.intValue();
  }

  private static long longInteger(String key, JsonNode value) {
    if (!value.canConvertToLong() || !value.isIntegralNumber()) {
      throw new LineException("\"" + key + "\" must be an integer, got " + value);
    }
    return value.longValue();
  }

  private static double number(String key, JsonNode value) {
    if (!value.isNumber()) {
      throw new LineException("\"" + key + "\" must be a number, got " + value);
    }
    return value.doubleValue();
  }

  private static boolean bool(String key, JsonNode value) {
    if (!value.isBoolean()) {
      throw new LineException("\"" + key + "\" must be true or false, got " + value);
    }
    return value.booleanValue();
  }

  /** {@code logprobs}: a count of top tokens, true (the chosen token's only), false or null. */
  private static Integer logprobs(JsonNode value) {
    if (value.isNull() || (value.isBoolean() && !value.booleanValue())) {
      return null;
    }
    return value.isBoolean() ? 0 : integer("logprobs", value);
  }

  private static List<String> strings(String key, JsonNode value) {
    if (value.isTextual()) {
      return List.of(value.asText());
    }
    if (!value.isArray()) {
      throw new LineException("\"" + key + "\" must be a string or a list of strings");
    }
    List<String> strings = new ArrayList<>();
    for (JsonNode element : value) {
      if (!element.isTextual()) {
        throw new LineException("\"" + key + "\" must hold strings only, got " + element);
      }
      strings.add(element.asText());
    }
    return strings;
  }

  private static List<List<Integer>> integerLists(String key, JsonNode value) {
    if (!value.isArray()) {
      throw new LineException("\"" + key + "\" must be a list of lists of integers, got " + value);
    }
    List<List<Integer>> lists = new ArrayList<>(value.size());
    for (JsonNode element : value) {
      lists.add(integers(key + "[]", element));
    }
    return lists;
  }

  private static List<Integer> integers(String key, JsonNode value) {
    if (!value.isArray()) {
      throw new LineException("\"" + key + "\" must be a list of integers, got " + value);
    }
    List<Integer> ids = new ArrayList<>(value.size());
    for (JsonNode element : value) {
      ids.add(integer(key + "[]", element));
    }
    return ids;
  }
}
