package dev.tandem.core.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.api.sequence.Sequence;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class SamplerTest {

  private static final int VOCAB = 8;
  private static final TokenRules NO_RULES = new TokenRules(new int[] {1}, -1, -1);

  private static final float[] LOGITS = {0.5f, 1.0f, 3.0f, -1.0f, 2.5f, 0.0f, 2.9f, -2.0f};

  private static Sequence sequence(int... tokens) {
    Sequence seq = new Sequence(7, new int[] {0});
    for (int t : tokens) {
      seq.appendToken(t, 0);
    }
    return seq;
  }

  /** Reference log-softmax in double, written independently of the sampler. */
  private static double[] logSoftmax(double[] x) {
    double max = Arrays.stream(x).max().orElseThrow();
    double sum = Arrays.stream(x).map(v -> Math.exp(v - max)).sum();
    return Arrays.stream(x).map(v -> v - max - Math.log(sum)).toArray();
  }

  private static double[] toDouble(float[] x) {
    double[] d = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      d[i] = x[i];
    }
    return d;
  }

  @Test
  void greedyTakesTheArgmaxWithItsLogSoftmax() {
    Sampler sampler = new Sampler(NO_RULES, VOCAB);
    SamplingParams params = SamplingParams.builder().logprobs(3).build();
    Distribution dist = sampler.distribution(LOGITS, 0, sequence(), params, 10);
    SampledToken token = sampler.choose(dist, params, Sampler.generator(1, 0));
    assertEquals(2, token.token());
    double[] reference = logSoftmax(toDouble(LOGITS));
    assertEquals(reference[2], token.logprob(), 1e-6);
    assertEquals(
        List.of(2, 6, 4), token.logprobs().top().stream().map(TokenLogprob::token).toList());
    assertEquals(1, token.logprobs().chosen().rank());
    assertEquals(reference[6], token.logprobs().top().get(1).logprob(), 1e-6);
  }

  /**
   * HuggingFace's beam search runs its logits processors on the log-softmax scores: a repetition
   * penalty multiplies the (negative) score of every token of the decoder sequence once.
   */
  @Test
  void beamScoresTakeTheRepetitionPenaltyOnTheLogSoftmax() {
    Sampler sampler = new Sampler(NO_RULES, VOCAB);
    SamplingParams params = SamplingParams.builder().numBeams(2).repetitionPenalty(1.5).build();
    float[] scores = new float[VOCAB];
    sampler.beamLogprobs(LOGITS, 0, sequence(0, 6, 6), params, 10, scores, 0);
    double[] reference = logSoftmax(toDouble(LOGITS));
    for (int token = 0; token < VOCAB; token++) {
      double expected = token == 0 || token == 6 ? reference[token] * 1.5 : reference[token];
      assertEquals(expected, scores[token], 1e-5, "token " + token);
    }
  }

  @Test
  void logitsAreReadAtTheRowOffsetAndLeftUnchanged() {
    float[] rows = new float[2 * VOCAB];
    System.arraycopy(LOGITS, 0, rows, VOCAB, VOCAB);
    float[] copy = rows.clone();
    Sampler sampler = new Sampler(NO_RULES, VOCAB);
    Distribution dist = sampler.distribution(rows, VOCAB, sequence(), SamplingParams.greedy(), 10);
    assertEquals(2, dist.greedy());
    assertTrue(Arrays.equals(copy, rows));
  }

  @Test
  void temperatureSamplingFollowsTheSoftmaxOfScaledLogits() {
    Sampler sampler = new Sampler(NO_RULES, VOCAB);
    double temperature = 1.7;
    SamplingParams params = SamplingParams.builder().temperature(temperature).seed(3L).build();
    double[] scaled = toDouble(LOGITS);
    for (int i = 0; i < scaled.length; i++) {
      scaled[i] /= temperature;
    }
    double[] expected = Arrays.stream(logSoftmax(scaled)).map(Math::exp).toArray();
    int draws = 40_000;
    int[] counts = new int[VOCAB];
    var random = Sampler.generator(3, 0);
    for (int i = 0; i < draws; i++) {
      Distribution dist = sampler.distribution(LOGITS, 0, sequence(), params, 10);
      counts[sampler.choose(dist, params, random).token()]++;
    }
    for (int t = 0; t < VOCAB; t++) {
      double sd = Math.sqrt(draws * expected[t] * (1 - expected[t]));
      assertEquals(draws * expected[t], counts[t], 5 * sd + 1, "token " + t);
    }
  }

  @Test
  void drawsFollowTheSoftmaxPastTheLastWholeVector() {
    // 13 tokens: with 8 or 16 float lanes some (or all) go through the scalar tails.
    float[] logits = {
      0.3f, -1.2f, 2.0f, 0.0f, 1.1f, -0.4f, 0.9f, 1.7f, -2.5f, 0.6f, 1.9f, -0.1f, 2.2f
    };
    int vocab = logits.length;
    Sampler sampler = new Sampler(NO_RULES, vocab);
    SamplingParams params = SamplingParams.builder().temperature(1).seed(5L).build();
    double[] expected = Arrays.stream(logSoftmax(toDouble(logits))).map(Math::exp).toArray();
    int draws = 40_000;
    int[] counts = new int[vocab];
    var random = Sampler.generator(5, 0);
    for (int i = 0; i < draws; i++) {
      Distribution dist = sampler.distribution(logits, 0, sequence(), params, 10);
      counts[sampler.choose(dist, params, random).token()]++;
      assertEquals(Math.log(expected[12]), dist.logprob(12), 1e-6);
    }
    for (int t = 0; t < vocab; t++) {
      double sd = Math.sqrt(draws * expected[t] * (1 - expected[t]));
      assertEquals(draws * expected[t], counts[t], 5 * sd + 1, "token " + t);
    }
  }

  @Test
  void topKKeepsTheKMostLikely() {
    assertEquals(
        new TreeSet<>(List.of(2, 6, 4)),
        support(SamplingParams.builder().temperature(1).topK(3).build()));
  }

  @Test
  void topPKeepsTheSmallestTopSetReachingP() {
    // Independent reference: sort probabilities descending, keep until the cumulative mass >= p.
    double p = 0.8;
    double[] probs = Arrays.stream(logSoftmax(toDouble(LOGITS))).map(Math::exp).toArray();
    Integer[] order = {0, 1, 2, 3, 4, 5, 6, 7};
    Arrays.sort(order, (a, b) -> Double.compare(probs[b], probs[a]));
    TreeSet<Integer> expected = new TreeSet<>();
    double mass = 0;
    for (int t : order) {
      if (mass >= p) {
        break;
      }
      expected.add(t);
      mass += probs[t];
    }
    assertEquals(expected, support(SamplingParams.builder().temperature(1).topP(p).build()));
  }

  @Test
  void minPDropsTokensBelowAFractionOfTheBest() {
    double[] probs = Arrays.stream(logSoftmax(toDouble(LOGITS))).map(Math::exp).toArray();
    double best = Arrays.stream(probs).max().orElseThrow();
    TreeSet<Integer> expected = new TreeSet<>();
    for (int t = 0; t < VOCAB; t++) {
      if (probs[t] >= 0.2 * best) {
        expected.add(t);
      }
    }
    assertEquals(expected, support(SamplingParams.builder().temperature(1).minP(0.2).build()));
  }

  private static TreeSet<Integer> support(SamplingParams params) {
    Sampler sampler = new Sampler(NO_RULES, VOCAB);
    Distribution dist = sampler.distribution(LOGITS, 0, sequence(), params, 10);
    TreeSet<Integer> kept = new TreeSet<>();
    for (int t = 0; t < VOCAB; t++) {
      if (dist.logprob(t) > Double.NEGATIVE_INFINITY) {
        kept.add(t);
      }
    }
    return kept;
  }

  /**
   * Top-k and top-p over a vocabulary-sized row, against a reference that sorts: the same tokens
   * kept on random rows with ties (logits on a coarse grid) and without. Rows whose top-p cut falls
   * within 1e-5 of the mass limit are skipped (float against double sums may fall either side).
   */
  @Test
  void truncationMatchesASortingReferenceOnLargeRows() {
    int vocab = 5003; // not a multiple of a vector: the scalar tails too
    Sampler sampler = new Sampler(NO_RULES, vocab);
    Random random = new Random(11);
    int compared = 0;
    for (int row = 0; row < 200; row++) {
      boolean ties = row % 2 == 0;
      double spread = 1 + random.nextInt(4);
      float[] logits = new float[vocab];
      for (int i = 0; i < vocab; i++) {
        logits[i] = ties ? random.nextInt(40) / 8f : (float) (random.nextGaussian() * spread);
      }
      int topK = random.nextBoolean() ? -1 : 1 + random.nextInt(random.nextBoolean() ? 256 : 3000);
      double topP = topK == -1 || random.nextBoolean() ? 0.05 + 0.9 * random.nextDouble() : 1;
      double temperature = 0.5 + random.nextDouble();
      TreeSet<Integer> expected = sortedSupport(logits, temperature, topK, topP);
      if (expected == null) {
        continue;
      }
      compared++;
      SamplingParams params =
          SamplingParams.builder().temperature(temperature).topK(topK).topP(topP).build();
      Distribution dist = sampler.distribution(logits, 0, sequence(), params, 10);
      TreeSet<Integer> kept = new TreeSet<>();
      for (int t = 0; t < vocab; t++) {
        if (dist.logprob(t) > Double.NEGATIVE_INFINITY) {
          kept.add(t);
        }
      }
      assertTrue(
          expected.equals(kept),
          "row %d, top_k=%d, top_p=%f: %d tokens kept, the sorting reference keeps %d"
              .formatted(row, topK, topP, kept.size(), expected.size()));
    }
    assertTrue(compared >= 180, compared + " of 200 rows compared");
  }

  /**
   * The tokens top-k then top-p keep, by sorting the scaled logits: the first k and their ties,
   * then walking down while the mass before a token is below p (ties of the last kept value kept);
   * null when the top-p walk stops within 1e-5 of the limit.
   */
  private static TreeSet<Integer> sortedSupport(
      float[] logits, double temperature, int topK, double topP) {
    float inverse = (float) (1 / temperature);
    Integer[] order = new Integer[logits.length];
    Arrays.setAll(order, i -> i);
    Arrays.sort(order, (a, b) -> Float.compare(logits[b] * inverse, logits[a] * inverse));
    int count = topK == -1 ? logits.length : topK;
    float cut = logits[order[count - 1]] * inverse;
    while (count < logits.length && logits[order[count]] * inverse == cut) {
      count++;
    }
    double max = logits[order[0]] * inverse;
    double total = 0;
    for (int r = 0; r < count; r++) {
      total += Math.exp(logits[order[r]] * inverse - max);
    }
    double before = 0;
    int kept = 0;
    while (kept < count && before < topP * total) {
      before += Math.exp(logits[order[kept]] * inverse - max);
      kept++;
    }
    if (topP < 1 && Math.abs(before - topP * total) < 1e-5 * total) {
      return null;
    }
    float last = logits[order[kept - 1]] * inverse;
    TreeSet<Integer> support = new TreeSet<>();
    for (int r = 0; r < count && logits[order[r]] * inverse >= last; r++) {
      support.add(order[r]);
    }
    return support;
  }

  @Test
  void penaltiesFollowVllm() {
    Sampler sampler = new Sampler(NO_RULES, VOCAB);
    SamplingParams params =
        SamplingParams.builder()
            .repetitionPenalty(2)
            .presencePenalty(0.5)
            .frequencyPenalty(0.25)
            .build();
    Sequence seq = sequence(2, 2, 3);
    Distribution dist = sampler.distribution(LOGITS, 0, seq, params, 10);
    double[] expected = toDouble(LOGITS);
    expected[0] = LOGITS[0] / 2.0;
    expected[2] = LOGITS[2] / 2.0 - 0.25 * 2 - 0.5;
    expected[3] = LOGITS[3] * 2.0 - 0.25 - 0.5;
    double[] reference = logSoftmax(expected);
    for (int t = 0; t < VOCAB; t++) {
      assertEquals(reference[t], dist.logprob(t), 1e-5, "token " + t);
    }
  }

  @Test
  void minTokensSuppressesEosAndStopIdsUntilReached() {
    float[] logits = LOGITS.clone();
    logits[1] = 10; // EOS would win
    logits[5] = 9; // then the stop token
    Sampler sampler = new Sampler(NO_RULES, VOCAB);
    SamplingParams params = SamplingParams.builder().minTokens(2).stopTokenIds(List.of(5)).build();
    assertEquals(2, sampler.distribution(logits, 0, sequence(4), params, 10).greedy());
    assertEquals(1, sampler.distribution(logits, 0, sequence(4, 4), params, 10).greedy());
    SamplingParams ignoring = params.toBuilder().ignoreEos(true).build();
    assertEquals(1, sampler.distribution(logits, 0, sequence(4), ignoring, 10).greedy());
  }

  @Test
  void forcedBosAndEosFollowHuggingFace() {
    Sampler sampler = new Sampler(new TokenRules(new int[] {1}, 5, 1), VOCAB);
    SamplingParams params = SamplingParams.greedy();
    Distribution first = sampler.distribution(LOGITS, 0, sequence(), params, 4);
    assertEquals(5, first.greedy());
    assertEquals(0, first.logprob(5), 1e-9);
    assertEquals(2, sampler.distribution(LOGITS, 0, sequence(5), params, 4).greedy());
    assertEquals(1, sampler.distribution(LOGITS, 0, sequence(5, 2, 2), params, 4).greedy());
    SamplingParams ignoring = params.toBuilder().ignoreEos(true).build();
    assertEquals(2, sampler.distribution(LOGITS, 0, sequence(5, 2, 2), ignoring, 4).greedy());
  }

  @Test
  void seededGeneratorsRepeatAndDifferByIndex() {
    var a = Sampler.generator(42, 0);
    var b = Sampler.generator(42, 0);
    var c = Sampler.generator(42, 1);
    long[] first = {a.nextLong(), a.nextLong()};
    assertEquals(first[0], b.nextLong());
    assertEquals(first[1], b.nextLong());
    assertNotEquals(first[0], c.nextLong());
  }

  @Test
  void noLogprobsUnlessRequested() {
    Sampler sampler = new Sampler(NO_RULES, VOCAB);
    Distribution dist = sampler.distribution(LOGITS, 0, sequence(), SamplingParams.greedy(), 10);
    assertNull(sampler.choose(dist, SamplingParams.greedy(), new Random(1)).logprobs());
  }

  @Test
  void topIndicesMatchesAFullSort() {
    Random random = new Random(5);
    float[] values = new float[1000];
    for (int i = 0; i < values.length; i++) {
      values[i] = random.nextInt(200); // many ties
    }
    Integer[] order = new Integer[values.length];
    Arrays.setAll(order, i -> i);
    Arrays.sort(
        order, (x, y) -> values[y] != values[x] ? Float.compare(values[y], values[x]) : x - y);
    int[] top = Distribution.topIndices(values, values.length, 17);
    for (int r = 0; r < 17; r++) {
      assertEquals(order[r], top[r]);
    }
    // A row inside a larger array (beam search's rows): indices from the row's start.
    float[] padded = new float[values.length + 203];
    Arrays.fill(padded, 1e9f);
    System.arraycopy(values, 0, padded, 101, values.length);
    assertArrayEquals(top, Distribution.topIndices(padded, 101, values.length, 17));
  }

  @Test
  void plainRowsAreThoseTheProcessorsLeaveAlone() {
    Sampler sampler = new Sampler(NO_RULES, VOCAB);
    SamplingParams greedy = SamplingParams.builder().build();
    assertTrue(sampler.isPlain(sequence(), greedy));
    assertTrue(sampler.isPlain(sequence(), SamplingParams.builder().temperature(0.7).build()));
    // The harness's exact-length requests: min_tokens with ignore_eos masks nothing.
    SamplingParams exact = SamplingParams.builder().minTokens(10).ignoreEos(true).build();
    assertTrue(sampler.isPlain(sequence(), exact));
    assertFalse(sampler.isPlain(sequence(), SamplingParams.builder().minTokens(2).build()));
    assertTrue(sampler.isPlain(sequence(4, 4), SamplingParams.builder().minTokens(2).build()));
    SamplingParams stopIds =
        SamplingParams.builder().minTokens(2).ignoreEos(true).stopTokenIds(List.of(3)).build();
    assertFalse(sampler.isPlain(sequence(), stopIds));
    for (SamplingParams notPlain :
        List.of(
            SamplingParams.builder().logprobs(0).build(),
            SamplingParams.builder().repetitionPenalty(1.2).build(),
            SamplingParams.builder().presencePenalty(0.5).build(),
            SamplingParams.builder().frequencyPenalty(0.5).build())) {
      assertFalse(sampler.isPlain(sequence(), notPlain), notPlain.toString());
    }
  }

  /** Forced BOS at the first position, forced EOS at the last the length allows, unless ignored. */
  @Test
  void forcedTokensAtTheirPositions() {
    SamplingParams greedy = SamplingParams.builder().build();
    assertEquals(TokenRules.NONE, new Sampler(NO_RULES, VOCAB).forcedToken(sequence(), greedy, 10));
    Sampler forced = new Sampler(new TokenRules(new int[] {1}, 5, 1), VOCAB);
    assertEquals(5, forced.forcedToken(sequence(), greedy, 10), "forced BOS at the first step");
    assertEquals(TokenRules.NONE, forced.forcedToken(sequence(5), greedy, 10));
    assertEquals(1, forced.forcedToken(sequence(5, 2, 2), greedy, 4), "forced EOS at the last");
    assertEquals(TokenRules.NONE, forced.forcedToken(sequence(5, 2, 2), exactIgnoringEos(), 4));
    assertEquals(TokenRules.NONE, forced.forcedToken(sequence(5, 2), greedy, 4));
  }

  private static SamplingParams exactIgnoringEos() {
    return SamplingParams.builder().ignoreEos(true).build();
  }
}
