package dev.tandem.core.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.tandem.api.sequence.SamplingParams;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The bans' rules, case by case, as HuggingFace's processors apply them. */
class TokenBansTest {

  private static final int VOCAB = 10;
  private static final int EOS = 1;

  private static List<Integer> banned(int[] tokens, SamplingParams params) {
    float[] x = new float[VOCAB];
    TokenBans.apply(x, VOCAB, tokens, params, new int[] {EOS});
    List<Integer> banned = new ArrayList<>();
    for (int t = 0; t < VOCAB; t++) {
      if (x[t] == Float.NEGATIVE_INFINITY) {
        banned.add(t);
      }
    }
    return banned;
  }

  private static SamplingParams ngrams(int n) {
    return SamplingParams.builder().noRepeatNgramSize(n).build();
  }

  @Test
  void anNgramIsNotCompletedTwice() {
    // 2-grams so far: (0 5) (5 6) (6 5) (5 7) (7 5); after 5, both 6 and 7 would repeat one
    assertEquals(List.of(6, 7), banned(new int[] {0, 5, 6, 5, 7, 5}, ngrams(2)));
    // 3-grams: (5 6) was followed by 8 once; (6 5) by 7
    assertEquals(List.of(8), banned(new int[] {0, 5, 6, 8, 5, 6}, ngrams(3)));
    // the decoder start token counts, as in HuggingFace's input_ids
    assertEquals(List.of(4), banned(new int[] {0, 4, 0}, ngrams(2)));
    // shorter than n - 1: nothing to match
    assertEquals(List.of(), banned(new int[] {0, 4}, ngrams(4)));
    // size 1: every token seen
    assertEquals(List.of(0, 3, 4), banned(new int[] {0, 4, 3}, ngrams(1)));
  }

  @Test
  void badWordsBanTheirLastTokenAfterTheirPrefix() {
    SamplingParams params =
        SamplingParams.builder()
            .badWordsIds(List.of(List.of(9), List.of(3, 4, 8), List.of(4, 7), List.of(EOS)))
            .build();
    // 9 always; 8 after 3 4; 7 after 4; a bad word that is EOS alone is dropped, as HuggingFace
    // does
    assertEquals(List.of(7, 8, 9), banned(new int[] {0, 3, 4}, params));
    assertEquals(List.of(9), banned(new int[] {0, 4, 3}, params));
    assertEquals(List.of(7, 9), banned(new int[] {4}, params));
  }

  @Test
  void nothingIsBannedByDefault() {
    assertFalse(TokenBans.any(SamplingParams.greedy()));
    assertEquals(List.of(), banned(new int[] {0, 5, 5, 5}, SamplingParams.greedy()));
  }
}
