package dev.tandem.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.tandem.core.checkpoint.ConfigJson;
import dev.tandem.core.checkpoint.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The tokenizer against what HuggingFace's tokenizer produced for the fixtures. */
class HuggingFaceTokenizerTest {
  @ParameterizedTest
  @ValueSource(strings = {"t5-tiny", "bart-tiny"})
  void encodesPromptsAsHuggingFaceDid(String fixture) throws IOException {
    Path dir = Fixtures.fixture(fixture);
    JsonNode golden = readJson(dir.resolve("golden.json"));
    try (Tokenizer tokenizer = HuggingFaceTokenizer.load(dir.resolve("tokenizer.json"))) {
      for (int i = 0; i < golden.get("prompts").size(); i++) {
        assertArrayEquals(
            ints(golden.get("input_ids").get(i)),
            tokenizer.encode(golden.get("prompts").get(i).asText()),
            fixture + " prompt " + i);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"t5-tiny", "bart-tiny"})
  void decodesGreedySequencesAsHuggingFaceDid(String fixture) throws IOException {
    Path dir = Fixtures.fixture(fixture);
    JsonNode golden = readJson(dir.resolve("golden.json"));
    try (Tokenizer tokenizer = HuggingFaceTokenizer.load(dir.resolve("tokenizer.json"))) {
      for (int i = 0; i < golden.get("greedy_sequences").size(); i++) {
        assertEquals(
            golden.get("greedy_texts").get(i).asText(),
            tokenizer.decode(ints(golden.get("greedy_sequences").get(i)), true),
            fixture + " sequence " + i);
      }
    }
  }

  @Test
  void numwordsEvalPromptsAndAnswers() throws IOException {
    Path dir = Fixtures.numwordsT5();
    JsonNode examples = readJson(dir.resolve("eval.json")).get("examples");
    try (Tokenizer tokenizer = HuggingFaceTokenizer.load(dir.resolve("tokenizer.json"))) {
      for (JsonNode example : examples) {
        String prompt = example.get("prompt").asText();
        assertArrayEquals(ints(example.get("input_ids")), tokenizer.encode(prompt), prompt);
        assertEquals(
            example.get("hf_greedy_text").asText(),
            tokenizer.decode(ints(example.get("hf_greedy_ids")), true),
            prompt);
      }
    }
  }

  @Test
  void specialTokensAgreeWithTheModelConfig() {
    for (String fixture : new String[] {"t5-tiny", "bart-tiny"}) {
      Path dir = Fixtures.fixture(fixture);
      ConfigJson config = ConfigJson.read(dir.resolve("config.json"));
      try (Tokenizer tokenizer = HuggingFaceTokenizer.load(dir.resolve("tokenizer.json"))) {
        int eos = config.getInt("eos_token_id");
        int pad = config.getInt("pad_token_id");
        assertEquals(OptionalInt.of(eos), tokenizer.tokenToId("</s>"), fixture);
        assertEquals(OptionalInt.of(pad), tokenizer.tokenToId("<pad>"), fixture);
        assertTrue(tokenizer.isSpecial(eos) && tokenizer.isSpecial(pad), fixture);
        int[] ids = tokenizer.encode("the");
        assertFalse(tokenizer.isSpecial(ids[ids.length - 2]), fixture);
        assertEquals(eos, ids[ids.length - 1], fixture + ": EOS appended");
        assertTrue(tokenizer.vocabSize() <= config.getInt("vocab_size"), fixture);
        // Ids are contiguous from 0 and each names one token.
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
          String token = tokenizer.idToToken(id).orElseThrow();
          assertEquals(OptionalInt.of(id), tokenizer.tokenToId(token), fixture + " token " + token);
        }
        assertTrue(tokenizer.idToToken(tokenizer.vocabSize()).isEmpty());
        assertTrue(tokenizer.tokenToId("no such token, surely").isEmpty());
      }
    }
  }

  @Test
  void longInputsAreNotTruncated() {
    // Each digit is one token in numwords' tokenizer: "to words: " is 10 tokens, then </s>.
    String digits = "7".repeat(1500);
    try (Tokenizer tokenizer = HuggingFaceTokenizer.load(Fixtures.numwordsT5())) {
      int prefix = tokenizer.encode("to words: ").length - 1;
      int[] ids = tokenizer.encode("to words: " + digits);
      assertEquals(prefix + 1500 + 1, ids.length);
    }
  }

  @Test
  void missingAndInvalidFiles(@TempDir Path tmp) throws IOException {
    Path missing = tmp.resolve("tokenizer.json");
    TokenizerException e =
        assertThrows(TokenizerException.class, () -> HuggingFaceTokenizer.load(missing));
    assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("not found"), e.getMessage());

    Files.writeString(missing, "{\"model\": {\"vocab\": ");
    e = assertThrows(TokenizerException.class, () -> HuggingFaceTokenizer.load(missing));
    assertTrue(e.getMessage().contains("invalid JSON"), e.getMessage());

    Files.writeString(missing, "{\"model\": {\"type\": \"NoSuchModel\", \"vocab\": {\"a\": 0}}}");
    e = assertThrows(TokenizerException.class, () -> HuggingFaceTokenizer.load(missing));
    assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
  }

  @Test
  void cleanUpOfSpacesFollowsTokenizerConfig(@TempDir Path tmp) throws IOException {
    String spaced = "I do n't know , he 's here .";
    String cleaned = "I don't know, he's here.";
    Path unigram = Files.createDirectory(tmp.resolve("unigram"));
    Path bpe = Files.createDirectory(tmp.resolve("bpe"));
    Files.copy(
        Fixtures.fixture("t5-tiny").resolve("tokenizer.json"), unigram.resolve("tokenizer.json"));
    Files.copy(
        Fixtures.fixture("bart-tiny").resolve("tokenizer.json"), bpe.resolve("tokenizer.json"));
    try (Tokenizer plain = HuggingFaceTokenizer.load(unigram.resolve("tokenizer.json"))) {
      assertEquals(spaced, plain.decode(plain.encode(spaced), true), "off by default");
    }
    for (Path dir : new Path[] {unigram, bpe}) {
      Files.writeString(
          dir.resolve(HuggingFaceTokenizer.TOKENIZER_CONFIG_FILE),
          "{\"clean_up_tokenization_spaces\": true}");
    }
    try (Tokenizer configured = HuggingFaceTokenizer.load(unigram.resolve("tokenizer.json"))) {
      assertEquals(cleaned, configured.decode(configured.encode(spaced), true));
    }
    try (Tokenizer configured = HuggingFaceTokenizer.load(bpe.resolve("tokenizer.json"))) {
      assertEquals(spaced, configured.decode(configured.encode(spaced), true), "never for BPE");
    }
  }

  static JsonNode readJson(Path file) throws IOException {
    return new JsonMapper().readTree(Files.readString(file));
  }

  static int[] ints(JsonNode array) {
    return StreamSupport.stream(array.spliterator(), false).mapToInt(JsonNode::asInt).toArray();
  }
}
