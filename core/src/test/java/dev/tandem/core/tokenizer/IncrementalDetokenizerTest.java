package dev.tandem.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.core.checkpoint.Fixtures;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class IncrementalDetokenizerTest {
  /** Feeds {@code ids} one at a time; returns the pieces, the last from finish(). */
  private static List<String> stream(Tokenizer tokenizer, int[] ids, boolean skipSpecial) {
    IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer, skipSpecial);
    List<String> pieces = new ArrayList<>();
    for (int n = 1; n < ids.length; n++) {
      pieces.add(detokenizer.next(Arrays.copyOf(ids, n)));
    }
    pieces.add(detokenizer.finish(ids));
    assertEquals(String.join("", pieces), detokenizer.text());
    return pieces;
  }

  @Test
  void piecesConcatenateToTheFullDecodeForNumwords() throws IOException {
    JsonNode examples =
        HuggingFaceTokenizerTest.readJson(Fixtures.numwordsT5().resolve("eval.json"))
            .get("examples");
    try (Tokenizer tokenizer =
        HuggingFaceTokenizer.load(Fixtures.numwordsT5().resolve("tokenizer.json"))) {
      for (JsonNode example : examples) {
        int[] ids = HuggingFaceTokenizerTest.ints(example.get("hf_greedy_ids"));
        for (boolean skipSpecial : new boolean[] {true, false}) {
          List<String> pieces = stream(tokenizer, ids, skipSpecial);
          assertEquals(tokenizer.decode(ids, skipSpecial), String.join("", pieces));
        }
        assertEquals(
            example.get("hf_greedy_text").asText(), String.join("", stream(tokenizer, ids, true)));
      }
    }
  }

  @Test
  void multiByteCharactersAreHeldBackUntilComplete() {
    try (Tokenizer tokenizer =
        HuggingFaceTokenizer.load(Fixtures.fixture("bart-tiny").resolve("tokenizer.json"))) {
      String text = "Café naïve — 東京 🙂 done.";
      int[] ids = tokenizer.encode(text);
      List<String> pieces = stream(tokenizer, ids, true);
      assertEquals(text, String.join("", pieces));
      for (String piece : pieces) {
        assertFalse(piece.contains("\uFFFD"), () -> "incomplete character emitted: " + pieces);
      }
      // The emoji's four bytes are separate byte-level tokens: some steps must have held back.
      assertFalse(pieces.stream().allMatch(p -> !p.isEmpty()), pieces.toString());
    }
  }

  @Test
  void idsMayNotShrink() {
    try (Tokenizer tokenizer =
        HuggingFaceTokenizer.load(Fixtures.fixture("t5-tiny").resolve("tokenizer.json"))) {
      IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer, true);
      int[] ids = tokenizer.encode("Open the file.");
      detokenizer.next(ids);
      assertThrows(IllegalArgumentException.class, () -> detokenizer.next(Arrays.copyOf(ids, 1)));
    }
  }
}
