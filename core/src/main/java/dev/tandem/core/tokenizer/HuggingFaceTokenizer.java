package dev.tandem.core.tokenizer;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A HuggingFace {@code tokenizer.json}, run by the Rust tokenizers library through DJL's binding,
 * offline and without truncation or padding. The vocabulary (for {@link #tokenToId} and {@link
 * #isSpecial}) is read from the same file, since DJL does not expose it.
 *
 * <p>Decoding follows transformers 5: {@code clean_up_tokenization_spaces} is off unless a {@code
 * tokenizer_config.json} beside the tokenizer.json turns it on, and even then it is not applied to
 * BPE models (it would remove real spaces before punctuation).
 */
public final class HuggingFaceTokenizer implements Tokenizer {
  /** The tokenizer file of a HuggingFace model directory. */
  public static final String TOKENIZER_FILE = "tokenizer.json";

  /** Optional settings beside tokenizer.json; only clean_up_tokenization_spaces is used. */
  public static final String TOKENIZER_CONFIG_FILE = "tokenizer_config.json";

  private static final JsonMapper JSON = JsonMapper.builder().build();

  /** DJL's defaults would truncate at 512 tokens; HuggingFace's tokenizer(text) does not. */
  private static final Map<String, String> OPTIONS =
      Map.of("truncation", "false", "padding", "false", "addSpecialTokens", "true");

  private static final System.Logger LOG = System.getLogger(HuggingFaceTokenizer.class.getName());

  private final Path file;
  private final ai.djl.huggingface.tokenizers.HuggingFaceTokenizer djl;
  private final Map<String, Integer> idByToken;
  private final Map<Integer, String> tokenById;
  private final BitSet specialIds;
  private final boolean cleanUpSpaces;

  private HuggingFaceTokenizer(
      Path file,
      ai.djl.huggingface.tokenizers.HuggingFaceTokenizer djl,
      Map<String, Integer> idByToken,
      Map<Integer, String> tokenById,
      BitSet specialIds,
      boolean cleanUpSpaces) {
    this.file = file;
    this.djl = djl;
    this.idByToken = idByToken;
    this.tokenById = tokenById;
    this.specialIds = specialIds;
    this.cleanUpSpaces = cleanUpSpaces;
  }

  /**
   * Loads {@code tokenizerJson}, a HuggingFace {@code tokenizer.json}, or the tokenizer.json of the
   * model directory it names.
   *
   * @throws TokenizerException when the file is missing, is not valid JSON, or the tokenizers
   *     library rejects it
   */
  public static HuggingFaceTokenizer load(Path tokenizerJson) {
    requireNonNull(tokenizerJson, "tokenizerJson is null");
    if (Files.isDirectory(tokenizerJson)) {
      tokenizerJson = tokenizerJson.resolve(TOKENIZER_FILE);
    }
    JsonNode root = readJson(tokenizerJson);
    Map<String, Integer> idByToken = new HashMap<>();
    Map<Integer, String> tokenById = new HashMap<>();
    BitSet specialIds = new BitSet();
    readVocabulary(tokenizerJson, root, idByToken, tokenById, specialIds);
    boolean cleanUpSpaces = cleanUpSpaces(tokenizerJson, root.path("model").path("type").asText());

    DjlEnvironment.configure();
    ai.djl.huggingface.tokenizers.HuggingFaceTokenizer djl;
    try {
      djl = ai.djl.huggingface.tokenizers.HuggingFaceTokenizer.newInstance(tokenizerJson, OPTIONS);
    } catch (IOException | RuntimeException e) {
      throw new TokenizerException(
          tokenizerJson + ": the tokenizers library cannot load it: " + e.getMessage(), e);
    }
    return new HuggingFaceTokenizer(
        tokenizerJson, djl, idByToken, tokenById, specialIds, cleanUpSpaces);
  }

  /** Whether decode() removes spaces before punctuation, as transformers 5 decides it. */
  private static boolean cleanUpSpaces(Path tokenizerJson, String modelType) {
    Path configFile = tokenizerJson.resolveSibling(TOKENIZER_CONFIG_FILE);
    if (!Files.isRegularFile(configFile)) {
      return false;
    }
    boolean requested = readJson(configFile).path("clean_up_tokenization_spaces").asBoolean(false);
    if (requested && modelType.equals("BPE")) {
      LOG.log(
          System.Logger.Level.DEBUG,
          "{0}: ignoring clean_up_tokenization_spaces for a BPE tokenizer, as transformers does",
          configFile);
      return false;
    }
    return requested;
  }

  private static JsonNode readJson(Path file) {
    try {
      JsonNode root = JSON.readTree(Files.readString(file));
      if (root == null || !root.isObject()) {
        throw new TokenizerException(file + ": expected a JSON object (a tokenizer.json)");
      }
      return root;
    } catch (NoSuchFileException e) {
      throw new TokenizerException(file + ": tokenizer file not found");
    } catch (JsonProcessingException e) {
      throw new TokenizerException(file + ": invalid JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new TokenizerException(file + ": cannot read: " + e, e);
    }
  }

  /**
   * Reads model.vocab (an array of [token, score] pairs for Unigram, an object of token to id for
   * BPE, WordPiece and WordLevel) and added_tokens.
   */
  private static void readVocabulary(
      Path file,
      JsonNode root,
      Map<String, Integer> idByToken,
      Map<Integer, String> tokenById,
      BitSet specialIds) {
    JsonNode vocab = root.path("model").path("vocab");
    if (vocab.isArray()) {
      for (int id = 0; id < vocab.size(); id++) {
        put(vocab.get(id).path(0).asText(), id, idByToken, tokenById);
      }
    } else if (vocab.isObject()) {
      for (Map.Entry<String, JsonNode> entry : vocab.properties()) {
        put(entry.getKey(), entry.getValue().asInt(), idByToken, tokenById);
      }
    } else {
      throw new TokenizerException(file + ": no model.vocab (array or object) in tokenizer.json");
    }
    for (JsonNode added : root.path("added_tokens")) {
      int id = added.path("id").asInt(-1);
      String content = added.path("content").asText(null);
      if (id < 0 || content == null) {
        throw new TokenizerException(file + ": malformed added_tokens entry " + added);
      }
      put(content, id, idByToken, tokenById);
      if (added.path("special").asBoolean(false)) {
        specialIds.set(id);
      }
    }
  }

  private static void put(
      String token, int id, Map<String, Integer> idByToken, Map<Integer, String> tokenById) {
    idByToken.put(token, id);
    tokenById.put(id, token);
  }

  /** The tokenizer.json this tokenizer was loaded from. */
  public Path file() {
    return file;
  }

  @Override
  public int[] encode(String text, boolean addSpecialTokens) {
    requireNonNull(text, "text is null");
    long[] ids = djl.encode(text, addSpecialTokens, false).getIds();
    return Arrays.stream(ids).mapToInt(Math::toIntExact).toArray();
  }

  @Override
  public String decode(int[] ids, boolean skipSpecialTokens) {
    requireNonNull(ids, "ids is null");
    String text = djl.decode(Arrays.stream(ids).asLongStream().toArray(), skipSpecialTokens);
    return cleanUpSpaces ? cleanUpTokenization(text) : text;
  }

  /** transformers' {@code clean_up_tokenization}: English spaces that tokenization introduced. */
  static String cleanUpTokenization(String text) {
    return text.replace(" .", ".")
        .replace(" ?", "?")
        .replace(" !", "!")
        .replace(" ,", ",")
        .replace(" ' ", "'")
        .replace(" n't", "n't")
        .replace(" 'm", "'m")
        .replace(" 's", "'s")
        .replace(" 've", "'ve")
        .replace(" 're", "'re");
  }

  @Override
  public int vocabSize() {
    return tokenById.size();
  }

  @Override
  public OptionalInt tokenToId(String token) {
    Integer id = idByToken.get(requireNonNull(token, "token is null"));
    return id == null ? OptionalInt.empty() : OptionalInt.of(id);
  }

  @Override
  public Optional<String> idToToken(int id) {
    return Optional.ofNullable(tokenById.get(id));
  }

  @Override
  public boolean isSpecial(int id) {
    return id >= 0 && specialIds.get(id);
  }

  @Override
  public void close() {
    djl.close();
  }

  @Override
  public String toString() {
    return "HuggingFaceTokenizer[" + file + ", " + vocabSize() + " tokens]";
  }
}
