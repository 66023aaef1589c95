package dev.tandem.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

  /**
   * A random-weight model that ignores EOS emits special tokens for hundreds of steps: they must
   * not pile up in the decode window (each step's decode was as long as the sequence, 2-3 ms a step
   * at B = 256), and the text around them must still come out whole.
   */
  @Test
  void skippedSpecialTokensStayOutOfTheWindow() {
    try (Tokenizer real =
        HuggingFaceTokenizer.load(Fixtures.fixture("t5-tiny").resolve("tokenizer.json"))) {
      int[] longest = {0};
      Tokenizer measured =
          new Tokenizer() {
            @Override
            public int[] encode(String text, boolean addSpecialTokens) {
              return real.encode(text, addSpecialTokens);
            }

            @Override
            public String decode(int[] ids, boolean skipSpecialTokens) {
              longest[0] = Math.max(longest[0], ids.length);
              return real.decode(ids, skipSpecialTokens);
            }

            @Override
            public int vocabSize() {
              return real.vocabSize();
            }

            @Override
            public java.util.OptionalInt tokenToId(String token) {
              return real.tokenToId(token);
            }

            @Override
            public java.util.Optional<String> idToToken(int id) {
              return real.idToToken(id);
            }

            @Override
            public boolean isSpecial(int id) {
              return real.isSpecial(id);
            }

            @Override
            public void close() {}
          };
      int[] open = real.encode("Open the");
      int[] file = real.encode("file today.");
      int eos = open[open.length - 1];
      int[] ids = new int[open.length - 1 + 200 + file.length];
      System.arraycopy(open, 0, ids, 0, open.length - 1);
      Arrays.fill(ids, open.length - 1, open.length - 1 + 200, eos);
      System.arraycopy(file, 0, ids, open.length - 1 + 200, file.length);

      List<String> pieces = stream(measured, ids, true);
      assertEquals(real.decode(ids, true), String.join("", pieces));
      assertTrue(longest[0] <= 4, "longest decode window: " + longest[0] + " ids");
      // Not skipped, the special tokens are text like any other.
      assertEquals(real.decode(ids, false), String.join("", stream(real, ids, false)));
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
