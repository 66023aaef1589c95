package dev.tandem.core.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tandem.core.checkpoint.Fixtures;
import dev.tandem.core.tokenizer.HuggingFaceTokenizer;
import dev.tandem.core.tokenizer.Tokenizer;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * vLLM's bad_words tokenized as vLLM does. The expected ids are HuggingFace's {@code
 * tokenizer.encode(word, add_special_tokens=False)} and {@code encode(" " + word, ...)} for these
 * tokenizers (transformers 5.18.0).
 */
class BadWordsTest {

  @Test
  void bytePairVocabulariesBanTheWordInsideASentenceToo() {
    try (Tokenizer bart =
        HuggingFaceTokenizer.load(Fixtures.fixture("bart-tiny").resolve("tokenizer.json"))) {
      // "seven": [268, 89, 276], " seven": [459, 89, 276], both kept; " thousand" has 4 pieces
      // to "thousand"'s 3, so only the plain one (vLLM keeps the spaced form only when it is as
      // long); leading blanks are dropped first
      assertEquals(
          List.of(List.of(268, 89, 276), List.of(459, 89, 276), List.of(662, 407, 495)),
          BadWords.tokenIds(bart, List.of("seven", "  thousand")));
    }
  }

  @Test
  void sentencePieceVocabulariesGiveOneSequence() {
    try (Tokenizer t5 =
        HuggingFaceTokenizer.load(Fixtures.fixture("t5-tiny").resolve("tokenizer.json"))) {
      assertEquals(
          List.of(List.of(583), List.of(7, 153)),
          BadWords.tokenIds(t5, List.of("separator", "the file")));
    }
  }
}
