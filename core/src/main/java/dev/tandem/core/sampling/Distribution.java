package dev.tandem.core.sampling;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.random.RandomGenerator;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The processed next-token distribution of one sequence: logits after penalties, temperature and
 * truncation, masked tokens at -infinity. Reused from row to row by its {@link Sampler}; not
 * thread-safe.
 */
public final class Distribution {

  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

  /** Tokens summed in float lanes before the lanes go into the double total. */
  private static final int SUM_BLOCK = 1024;

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
    FloatVector maxes = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
    int i = 0;
    for (int bound = SPECIES.loopBound(vocabSize); i < bound; i += SPECIES.length()) {
      maxes = maxes.max(FloatVector.fromArray(SPECIES, logits, i));
    }
    float max = maxes.reduceLanes(VectorOperators.MAX);
    for (; i < vocabSize; i++) {
      max = Math.max(max, logits[i]);
    }
    int best = 0;
    while (best < vocabSize - 1 && logits[best] != max) {
      best++; // the first of the largest: the lowest id among equals
    }
    argmax = best;
    this.max = max;
    weighed = false;
  }

  /** The largest processed logit (set by {@link #findMax()}). */
  float max() {
    return max;
  }

  /** Whether any token is left unmasked (bans and rules can mask them all). */
  public boolean allowsAny() {
    return max != Float.NEGATIVE_INFINITY;
  }

  /**
   * Every token's weight exp(logit - max), masked tokens 0: computed on the first call after {@link
   * #findMax()}, then kept up to date by {@link #mask}.
   */
  float[] weights() {
    if (!weighed) {
      // Shift by the max before exponentiating so that no term overflows.
      int i = 0;
      for (int bound = SPECIES.loopBound(vocabSize); i < bound; i += SPECIES.length()) {
        // The JDK's vector e^x (an intrinsic: about 0.5 ns a token here); -infinity gives 0.
        FloatVector.fromArray(SPECIES, logits, i)
            .sub(max)
            .lanewise(VectorOperators.EXP)
            .intoArray(weights, i);
      }
      for (; i < vocabSize; i++) {
        weights[i] = (float) Math.exp(logits[i] - max);
      }
      weighed = true;
    }
    return weights;
  }

  /**
   * Masks every token whose logit is below {@code threshold}: logit -infinity, and weight 0 if the
   * weights are computed already.
   */
  void mask(float threshold) {
    int i = 0;
    for (int bound = SPECIES.loopBound(vocabSize); i < bound; i += SPECIES.length()) {
      FloatVector x = FloatVector.fromArray(SPECIES, logits, i);
      VectorMask<Float> below = x.compare(VectorOperators.LT, threshold);
      x.blend(Float.NEGATIVE_INFINITY, below).intoArray(logits, i);
      if (weighed) {
        FloatVector.fromArray(SPECIES, weights, i).blend(0f, below).intoArray(weights, i);
      }
    }
    for (; i < vocabSize; i++) {
      if (logits[i] < threshold) {
        logits[i] = Float.NEGATIVE_INFINITY;
        weights[i] = 0;
      }
    }
  }

  /** The smallest logit of a token not masked (the max when all others are). */
  float minUnmasked() {
    FloatVector mins = FloatVector.broadcast(SPECIES, max);
    int i = 0;
    for (int bound = SPECIES.loopBound(vocabSize); i < bound; i += SPECIES.length()) {
      FloatVector x = FloatVector.fromArray(SPECIES, logits, i);
      mins = mins.min(x.blend(max, x.compare(VectorOperators.EQ, Float.NEGATIVE_INFINITY)));
    }
    float min = mins.reduceLanes(VectorOperators.MIN);
    for (; i < vocabSize; i++) {
      if (logits[i] != Float.NEGATIVE_INFINITY) {
        min = Math.min(min, logits[i]);
      }
    }
    return min;
  }

  /**
   * Sums the weights left into the normalizer: lane by lane in float over {@link #SUM_BLOCK} tokens
   * at a time, the blocks in double.
   */
  void normalize() {
    float[] w = weights();
    double sum = 0;
    int i = 0;
    for (int bound = SPECIES.loopBound(vocabSize); i < bound; ) {
      FloatVector lanes = FloatVector.zero(SPECIES);
      for (int end = Math.min(bound, i + SUM_BLOCK); i < end; i += SPECIES.length()) {
        lanes = lanes.add(FloatVector.fromArray(SPECIES, w, i));
      }
      sum += lanes.reduceLanes(VectorOperators.ADD);
    }
    for (; i < vocabSize; i++) {
      sum += w[i];
    }
    weightSum = sum;
    logNormalizer = max + Math.log(sum);
  }

  /** The most likely token (the lowest id among equals). */
  public int greedy() {
    return argmax;
  }

  /**
   * Draws a token with one uniform number from {@code random}, walking the vocabulary in order: the
   * first token whose cumulative weight exceeds the number times the total (a token of nonzero
   * weight).
   */
  public int sample(RandomGenerator random) {
    double target = random.nextDouble() * weightSum;
    double cumulative = 0;
    int last = argmax;
    for (int i = 0; i < vocabSize; i++) {
      if (weights[i] > 0) {
        cumulative += weights[i];
        last = i;
        if (cumulative > target) {
          return i;
        }
      }
    }
    return last; // the walk's sum rounded just below the total: the last possible token
  }

  /** log Σ exp(logit) over the tokens left (set by {@link #normalize()}). */
  double logNormalizer() {
    return logNormalizer;
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
    return topIndices(values, 0, n, k);
  }

  /** As {@link #topIndices(float[], int, int)} over values[from, from + n); indices from 0. */
  static int[] topIndices(float[] values, int from, int n, int k) {
    k = Math.min(k, n);
    if (k <= 0) {
      return new int[0]; // logprobs=0: the chosen token only
    }
    int[] idx = new int[k];
    int size = 0;
    int i = 0;
    // Once the list is full, a vector with no value above its k-th is skipped whole.
    FloatVector kth = FloatVector.broadcast(SPECIES, Float.NaN); // compares false: no skip yet
    for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
      if (FloatVector.fromArray(SPECIES, values, from + i)
              .compare(VectorOperators.GT, kth)
              .anyTrue()
          || size < k) {
        for (int j = i; j < i + SPECIES.length(); j++) {
          size = insert(values, from, idx, size, k, j);
        }
        if (size == k) {
          kth = FloatVector.broadcast(SPECIES, values[from + idx[k - 1]]);
        }
      }
    }
    for (; i < n; i++) {
      size = insert(values, from, idx, size, k, i);
    }
    return Arrays.copyOf(idx, size);
  }

  /**
   * Puts index i into the sorted list idx[0, size) of at most k if its value, values[from + i],
   * belongs there.
   */
  private static int insert(float[] values, int from, int[] idx, int size, int k, int i) {
    float v = values[from + i];
    if (size == k && !(v > values[from + idx[k - 1]])) {
      return size; // not better than the current k-th: the common case, one comparison
    }
    int pos = size < k ? size++ : k - 1;
    while (pos > 0 && v > values[from + idx[pos - 1]]) {
      idx[pos] = idx[pos - 1];
      pos--;
    }
    idx[pos] = i;
    return size;
  }
}
