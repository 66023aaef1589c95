package dev.tandem.core.sampling;

import dev.tandem.api.sequence.SamplingParams;
import java.util.List;

/**
 * HuggingFace's two bans on the next token, computed from the decoder sequence so far (its prompt,
 * the decoder start token included, as HuggingFace's {@code input_ids}): {@code
 * no_repeat_ngram_size} (NoRepeatNGramLogitsProcessor) and {@code bad_words_ids}
 * (NoBadWordsLogitsProcessor). A banned token's logit becomes -infinity.
 */
final class TokenBans {

  private TokenBans() {}

  /** Whether {@code params} ban anything at all. */
  static boolean any(SamplingParams params) {
    return params.noRepeatNgramSize() > 0 || !params.badWordsIds().isEmpty();
  }

  /**
   * Bans, in {@code x} (one logits row of {@code vocabSize}), the tokens {@code params} forbid
   * after {@code tokens}.
   *
   * @param eosTokenIds a bad word that is one EOS token is not banned (HuggingFace drops it)
   */
  static void apply(
      float[] x, int vocabSize, int[] tokens, SamplingParams params, int[] eosTokenIds) {
    if (params.noRepeatNgramSize() > 0) {
      banRepeatedNgrams(x, vocabSize, tokens, params.noRepeatNgramSize());
    }
    for (List<Integer> word : params.badWordsIds()) {
      int last = word.getLast();
      if ((word.size() == 1 && isEos(last, eosTokenIds)) || last >= vocabSize) {
        continue;
      }
      if (endsWith(tokens, word)) {
        x[last] = Float.NEGATIVE_INFINITY;
      }
    }
  }

  /**
   * The n-gram whose first n - 1 tokens are the sequence's last n - 1 may not be completed again:
   * for each earlier occurrence of those n - 1 tokens, the token that followed it is banned.
   */
  private static void banRepeatedNgrams(float[] x, int vocabSize, int[] tokens, int n) {
    int length = tokens.length;
    if (length + 1 < n) {
      return;
    }
    int suffix = length - (n - 1); // where the last n - 1 tokens start
    for (int start = 0; start + n <= length; start++) {
      int j = 0;
      while (j < n - 1 && tokens[start + j] == tokens[suffix + j]) {
        j++;
      }
      int next = tokens[start + n - 1];
      if (j == n - 1 && next >= 0 && next < vocabSize) {
        x[next] = Float.NEGATIVE_INFINITY;
      }
    }
  }

  /** Whether the sequence ends with all of {@code word} but its last token. */
  private static boolean endsWith(int[] tokens, List<Integer> word) {
    int prefix = word.size() - 1;
    if (prefix > tokens.length) {
      return false;
    }
    for (int i = 0; i < prefix; i++) {
      if (tokens[tokens.length - prefix + i] != word.get(i)) {
        return false;
      }
    }
    return true;
  }

  private static boolean isEos(int token, int[] eosTokenIds) {
    for (int eos : eosTokenIds) {
      if (eos == token) {
        return true;
      }
    }
    return false;
  }
}
