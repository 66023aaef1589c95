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
  private boolean weighed; // whether weights match the logits
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
   * Finds the argmax and the max once penalties and temperature are applied. Truncation then masks
   * tokens (the argmax always stays), and {@link #normalize()} weighs and sums what is left.
   */
  void findMax() {
    float max = Float.NEGATIVE_INFINITY;
    int best = 0;
    for (int i = 0; i < vocabSize; i++) {
      if (logits[i] > max) {
        max = logits[i];
        best = i;
      }
    }
    argmax = best;
    this.max = max;
    weighed = false;
  }

  /** The largest processed logit (set by {@link #findMax()}). */
  float max() {
    return max;
  }

  /**
   * Every token's weight exp(logit - max), masked tokens 0: computed on the first call after {@link
   * #findMax()}, then kept up to date by {@link #mask}.
   */
  float[] weights() {
    if (!weighed) {
      // Shift by the max before exponentiating so that no term overflows.
      for (int i = 0; i < vocabSize; i++) {
        weights[i] = (float) expNonPositive(logits[i] - max);
      }
      weighed = true;
    }
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
    float[] w = weights();
    double sum = 0;
    for (int i = 0; i < vocabSize; i++) {
      sum += w[i];
    }
    weightSum = sum;
    logNormalizer = max + Math.log(sum);
  }

  private static final double LOG2_E = 1.4426950408889634;
  private static final double LN_2 = 0.6931471805599453;

  /** Adding then subtracting 1.5 · 2^52 rounds a double of magnitude below 2^51 to an integer. */
  private static final double ROUNDER = 6755399441055744.0;

  /**
   * e^x for x &lt;= 0 (and NaN-free), within 2e-7 relative: 2^n times a degree-6 Taylor polynomial
   * of e^g, where n = round(x log2 e) and |g| &lt;= ln2 / 2; below -87 (under the smallest normal
   * float) 0, as for a masked token. It replaces Math.exp in the sampler's weights, computed for
   * the whole vocabulary of every sampled row every step; 2e-7 is far below the model's own float32
   * noise. Written for the scalar pipeline: FMAs, and n read from the rounded double's low bits (no
   * Math.rint and no long conversion).
   */
  static double expNonPositive(float x) {
    if (!(x >= -87f)) {
      return 0; // also -infinity: a masked token
    }
    double t = x * LOG2_E;
    double rounded = t + ROUNDER;
    double g = (t - (rounded - ROUNDER)) * LN_2;
    double p =
        Math.fma(
            g,
            Math.fma(
                g,
                Math.fma(
                    g,
                    Math.fma(g, Math.fma(g, Math.fma(g, 1.0 / 720, 1.0 / 120), 1.0 / 24), 1.0 / 6),
                    0.5),
                1),
            1);
    long n = Double.doubleToRawLongBits(rounded) - Double.doubleToRawLongBits(ROUNDER);
    return Double.longBitsToDouble((n + 1023) << 52) * p;
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
