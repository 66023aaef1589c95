package dev.tandem.core.sampling;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * The processed next-token distribution of one sequence: logits after penalties, temperature and
 * truncation, masked tokens at -infinity. Reused from row to row by its {@link Sampler}; not
 * thread-safe.
 */
public final class Distribution {

  private final float[] logits; // (vocab) processed; -inf = masked
  private final float[] weights; // (vocab) exp(logit - max): unnormalized probabilities
  private final int vocabSize;
  private int argmax;
  private float max;
  private double weightSum; // sum(weights)
  private double logNormalizer; // log(sum(exp(logits)))

  Distribution(int vocabSize) {
    this.logits = new float[vocabSize];
    this.weights = new float[vocabSize];
    this.vocabSize = vocabSize;
  }

  float[] logits() {
    return logits;
  }

  int vocabSize() {
    return vocabSize;
  }

  /**
   * Computes the argmax, the max and every token's weight exp(logit - max) once penalties and
   * temperature are applied; masked tokens weigh 0. Truncation then masks logits and weights
   * together, and {@link #normalize()} sums what is left (the argmax always stays).
   */
  void weigh() {
    float max = Float.NEGATIVE_INFINITY;
    int best = 0;
    for (int i = 0; i < vocabSize; i++) {
      if (logits[i] > max) {
        max = logits[i];
        best = i;
      }
    }
    // Shift by the max before exponentiating so that no term overflows.
    for (int i = 0; i < vocabSize; i++) {
      weights[i] = (float) expNonPositive(logits[i] - max);
    }
    argmax = best;
    this.max = max;
  }

  /** The largest processed logit (set by {@link #weigh()}). */
  float max() {
    return max;
  }

  float[] weights() {
    return weights;
  }

  /** Masks every token whose logit is below {@code threshold}: logit -infinity, weight 0. */
  void mask(float threshold) {
    for (int i = 0; i < vocabSize; i++) {
      if (logits[i] < threshold) {
        logits[i] = Float.NEGATIVE_INFINITY;
        weights[i] = 0;
      }
    }
  }

  /** Sums the weights left into the normalizer. */
  void normalize() {
    double sum = 0;
    for (int i = 0; i < vocabSize; i++) {
      sum += weights[i];
    }
    weightSum = sum;
    logNormalizer = max + Math.log(sum);
  }

  private static final double LOG2_E = 1.4426950408889634;
  private static final double LN_2 = 0.6931471805599453;

  /**
   * e^x for x &lt;= 0 (and NaN-free), within 2e-7 relative: 2^round(x log2 e) times a degree-6
   * Taylor polynomial of e^g for the remainder |g| &lt;= ln2 / 2. It replaces Math.exp in the
   * normalizer, which runs over the whole vocabulary for every sequence every step and was most of
   * the sampler's time; the result feeds log-probabilities, where 2e-7 is far below the model's own
   * float32 noise.
   */
  static double expNonPositive(float x) {
    if (x < -700) {
      return 0; // also -infinity: a masked token
    }
    double t = x * LOG2_E;
    double whole = Math.rint(t);
    double g = (t - whole) * LN_2;
    double p = 1 + g * (1 + g * (0.5 + g * (1.0 / 6 + g * (1.0 / 24 + g * (1.0 / 120 + g / 720)))));
    return Double.longBitsToDouble(((long) whole + 1023) << 52) * p;
  }

  /** The most likely token (the lowest id among equals). */
  public int greedy() {
    return argmax;
  }

  /**
   * Draws a token with one uniform number from {@code random}, walking the vocabulary in order: the
   * first token whose cumulative weight exceeds the number times the total. The walk adds the same
   * weights that made the total, so it always ends at a token of nonzero weight.
   */
  public int sample(RandomGenerator random) {
    double target = random.nextDouble() * weightSum;
    double cumulative = 0;
    for (int i = 0; i < vocabSize; i++) {
      cumulative += weights[i];
      if (cumulative > target) {
        return i;
      }
    }
    return argmax; // only if rounding made target equal to the total
  }

  public double logprob(int token) {
    return logits[token] - logNormalizer;
  }

  /** 1 + the number of tokens strictly more likely than {@code token}. */
  public int rank(int token) {
    float value = logits[token];
    int rank = 1;
    for (int i = 0; i < vocabSize; i++) {
      if (logits[i] > value) {
        rank++;
      }
    }
    return rank;
  }

  /** The k most likely tokens, best first (ties: lower id first). */
  public List<TokenLogprob> top(int k) {
    int[] best = topIndices(logits, vocabSize, k);
    List<TokenLogprob> result = new ArrayList<>(best.length);
    for (int r = 0; r < best.length; r++) {
      result.add(new TokenLogprob(best[r], logprob(best[r]), r + 1));
    }
    return result;
  }

  /** The chosen token and the top k, as returned for {@code logprobs=k}. */
  public PositionLogprobs positionLogprobs(int chosen, int k) {
    return new PositionLogprobs(new TokenLogprob(chosen, logprob(chosen), rank(chosen)), top(k));
  }

  /**
   * The chosen token and the top k of a row of log-probabilities (values[0, n), as beam search
   * scores them), with ranks as {@link #positionLogprobs}.
   */
  static PositionLogprobs ofLogprobRow(float[] values, int n, int chosen, int k) {
    int rank = 1;
    for (int i = 0; i < n; i++) {
      if (values[i] > values[chosen]) {
        rank++;
      }
    }
    int[] best = topIndices(values, n, k);
    List<TokenLogprob> top = new ArrayList<>(best.length);
    for (int r = 0; r < best.length; r++) {
      top.add(new TokenLogprob(best[r], values[best[r]], r + 1));
    }
    return new PositionLogprobs(new TokenLogprob(chosen, values[chosen], rank), top);
  }

  /**
   * Indices of the k largest values of values[0, n), largest first, ties by lower index; selection
   * with a sorted window of k so that k much smaller than n costs O(n) comparisons.
   */
  static int[] topIndices(float[] values, int n, int k) {
    k = Math.min(k, n);
    if (k <= 0) {
      return new int[0]; // logprobs=0: the chosen token only
    }
    int[] idx = new int[k];
    int size = 0;
    for (int i = 0; i < n; i++) {
      float v = values[i];
      if (size == k && !(v > values[idx[k - 1]])) {
        continue; // not better than the current k-th: the common case, one comparison
      }
      int pos = size < k ? size++ : k - 1;
      while (pos > 0 && v > values[idx[pos - 1]]) {
        idx[pos] = idx[pos - 1];
        pos--;
      }
      idx[pos] = i;
    }
    return Arrays.copyOf(idx, size);
  }
}
