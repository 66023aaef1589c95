package dev.tandem.core.checkpoint;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;

/**
 * Typed access to a HuggingFace JSON configuration ({@code config.json}, {@code
 * generation_config.json}). A JSON {@code null} counts as absent, as in HuggingFace. Every error
 * names the file and the key.
 */
public final class ConfigJson {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  /** Default architectures for configs that have a {@code model_type} but no "architectures". */
  private static final Map<String, String> ARCHITECTURE_BY_MODEL_TYPE =
      Map.of(
          "t5", "T5ForConditionalGeneration",
          "mt5", "MT5ForConditionalGeneration",
          "bart", "BartForConditionalGeneration",
          "mbart", "MBartForConditionalGeneration",
          "marian", "MarianMTModel");

  private final String source;
  private final ObjectNode root;

  private ConfigJson(String source, ObjectNode root) {
    this.source = source;
    this.root = root;
  }

  /** Reads and parses {@code file}, which must hold one JSON object. */
  public static ConfigJson read(Path file) {
    requireNonNull(file, "file is null");
    String text;
    try {
      text = Files.readString(file);
    } catch (NoSuchFileException e) {
      throw new CheckpointException(file + ": file not found");
    } catch (IOException e) {
      throw new CheckpointException(file + ": cannot read: " + e, e);
    }
    return parse(text, file.toString());
  }

  /** Parses {@code json}, one JSON object; {@code source} names it in errors (usually its path). */
  public static ConfigJson parse(String json, String source) {
    requireNonNull(json, "json is null");
    requireNonNull(source, "source is null");
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new CheckpointException(source + ": invalid JSON: " + e.getOriginalMessage(), e);
    }
    if (!(root instanceof ObjectNode object)) {
      throw new CheckpointException(source + ": expected a JSON object, found " + root);
    }
    return new ConfigJson(source, object);
  }

  /** The file (or other source) this configuration came from. */
  public String source() {
    return source;
  }

  /**
   * The architecture class name: {@code architectures[0]}, else the default for {@code model_type}
   * (e.g. {@code t5} gives {@code T5ForConditionalGeneration}).
   */
  public String architecture() {
    JsonNode architectures = value("architectures");
    if (architectures != null) {
      if (!architectures.isArray()
          || architectures.isEmpty()
          || !architectures.get(0).isTextual()) {
        throw wrongType("architectures", "a non-empty array of class names", architectures);
      }
      return architectures.get(0).asText();
    }
    String modelType =
        optString("model_type")
            .orElseThrow(
                () -> error("has neither 'architectures' nor 'model_type'; one is required"));
    String derived = ARCHITECTURE_BY_MODEL_TYPE.get(modelType);
    if (derived == null) {
      throw error(
          "has no 'architectures', and model_type '"
              + modelType
              + "' has no default architecture (known model types: "
              + ARCHITECTURE_BY_MODEL_TYPE.keySet().stream().sorted().toList()
              + ")");
    }
    return derived;
  }

  /** {@code model_type}, required. */
  public String modelType() {
    return getString("model_type");
  }

  /** Whether {@code key} is present with a non-null value. */
  public boolean has(String key) {
    return value(key) != null;
  }

  /** The keys present, in file order. */
  public List<String> keys() {
    List<String> keys = new ArrayList<>();
    root.fieldNames().forEachRemaining(keys::add);
    return keys;
  }

  public int getInt(String key) {
    return optInt(key).orElseThrow(() -> missing(key));
  }

  public int getInt(String key, int defaultValue) {
    return optInt(key).orElse(defaultValue);
  }

  public OptionalInt optInt(String key) {
    JsonNode node = value(key);
    if (node == null) {
      return OptionalInt.empty();
    }
    if (!node.isIntegralNumber() || !node.canConvertToInt()) {
      throw wrongType(key, "an integer", node);
    }
    return OptionalInt.of(node.intValue());
  }

  public double getDouble(String key) {
    return optDouble(key).orElseThrow(() -> missing(key));
  }

  public double getDouble(String key, double defaultValue) {
    return optDouble(key).orElse(defaultValue);
  }

  public OptionalDouble optDouble(String key) {
    JsonNode node = value(key);
    if (node == null) {
      return OptionalDouble.empty();
    }
    if (!node.isNumber()) {
      throw wrongType(key, "a number", node);
    }
    return OptionalDouble.of(node.doubleValue());
  }

  public boolean getBoolean(String key) {
    return optBoolean(key).orElseThrow(() -> missing(key));
  }

  public boolean getBoolean(String key, boolean defaultValue) {
    return optBoolean(key).orElse(defaultValue);
  }

  public Optional<Boolean> optBoolean(String key) {
    JsonNode node = value(key);
    if (node == null) {
      return Optional.empty();
    }
    if (!node.isBoolean()) {
      throw wrongType(key, "true or false", node);
    }
    return Optional.of(node.booleanValue());
  }

  public String getString(String key) {
    return optString(key).orElseThrow(() -> missing(key));
  }

  public String getString(String key, String defaultValue) {
    return optString(key).orElse(defaultValue);
  }

  public Optional<String> optString(String key) {
    JsonNode node = value(key);
    if (node == null) {
      return Optional.empty();
    }
    if (!node.isTextual()) {
      throw wrongType(key, "a string", node);
    }
    return Optional.of(node.textValue());
  }

  /** An integer array; a single integer is read as an array of one (e.g. {@code eos_token_id}). */
  public int[] getIntArray(String key) {
    return optIntArray(key).orElseThrow(() -> missing(key));
  }

  /** Like {@link #getIntArray}, empty when the key is absent or null. */
  public Optional<int[]> optIntArray(String key) {
    JsonNode node = value(key);
    if (node == null) {
      return Optional.empty();
    }
    if (node.isIntegralNumber() && node.canConvertToInt()) {
      return Optional.of(new int[] {node.intValue()});
    }
    if (!node.isArray()) {
      throw wrongType(key, "an integer or an array of integers", node);
    }
    int[] values = new int[node.size()];
    for (int i = 0; i < values.length; i++) {
      JsonNode element = node.get(i);
      if (!element.isIntegralNumber() || !element.canConvertToInt()) {
        throw wrongType(key, "an integer or an array of integers", node);
      }
      values[i] = element.intValue();
    }
    return Optional.of(values);
  }

  /**
   * An array of integer arrays (e.g. {@code bad_words_ids}), empty when the key is absent or null.
   */
  public Optional<List<List<Integer>>> optIntArrays(String key) {
    JsonNode node = value(key);
    if (node == null) {
      return Optional.empty();
    }
    String expected = "an array of arrays of integers";
    if (!node.isArray()) {
      throw wrongType(key, expected, node);
    }
    List<List<Integer>> arrays = new ArrayList<>();
    for (JsonNode array : node) {
      if (!array.isArray()) {
        throw wrongType(key, expected, node);
      }
      List<Integer> values = new ArrayList<>();
      for (JsonNode element : array) {
        if (!element.isIntegralNumber() || !element.canConvertToInt()) {
          throw wrongType(key, expected, node);
        }
        values.add(element.intValue());
      }
      arrays.add(List.copyOf(values));
    }
    return Optional.of(List.copyOf(arrays));
  }

  /** The raw JSON text of {@code key}'s value (objects such as {@code rope_scaling}), if any. */
  public Optional<String> optJson(String key) {
    JsonNode node = value(key);
    return node == null ? Optional.empty() : Optional.of(node.toString());
  }

  @Override
  public String toString() {
    return source + " " + root;
  }

  private JsonNode value(String key) {
    requireNonNull(key, "key is null");
    JsonNode node = root.get(key);
    return node == null || node.isNull() ? null : node;
  }

  private CheckpointException missing(String key) {
    return error("required key '" + key + "' is missing");
  }

  private CheckpointException wrongType(String key, String expected, JsonNode found) {
    return error("key '" + key + "' must be " + expected + ", found " + found);
  }

  private CheckpointException error(String what) {
    return new CheckpointException(source + ": " + what);
  }
}
