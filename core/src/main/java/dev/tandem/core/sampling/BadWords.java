package dev.tandem.core.sampling;

import dev.tandem.core.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** vLLM's {@code bad_words}: words turned into the token sequences the sampler bans. */
public final class BadWords {

  private BadWords() {}

  /**
   * Each word's ids without special tokens, as vLLM tokenizes them: the word as given (leading
   * blanks removed), and once more after a space when that gives a different first token and as
   * many tokens (BPE vocabularies have separate pieces for a word inside a sentence); SentencePiece
   * vocabularies give the same ids both ways, kept once.
   *
   * @throws IllegalArgumentException naming the word if it has no tokens
   */
  public static List<List<Integer>> tokenIds(Tokenizer tokenizer, List<String> words) {
    List<List<Integer>> ids = new ArrayList<>();
    for (String word : words) {
      int[] plain = tokenizer.encode(word.stripLeading(), false);
      if (plain.length == 0) {
        throw new IllegalArgumentException(
            "bad word \"" + word + "\" has no tokens in this model's vocabulary");
      }
      int[] spaced = tokenizer.encode(" " + word.stripLeading(), false);
      ids.add(boxed(plain));
      if (spaced.length == plain.length && spaced[0] != plain[0]) {
        ids.add(boxed(spaced));
      }
    }
    return ids;
  }

  private static List<Integer> boxed(int[] ids) {
    return Arrays.stream(ids).boxed().toList();
  }
}
