package dev.tandem.core.sampling;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.api.sequence.Sequence;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * Turns one sequence's logits into its next-token distribution, in vLLM's order: HuggingFace's
 * no-repeat n-grams and bad words ({@link TokenBans}), min-tokens suppression of EOS and stop ids,
 * HuggingFace's forced BOS/EOS, repetition / presence / frequency penalties, temperature, top-k,
 * top-p, min-p. Greedy rows (temperature 0) use temperature 1, so their log-probabilities are those
 * of the penalized logits. Not thread-safe: one per engine loop.
 */
public final class Sampler {

  /** Largest top-k found by keeping the best k in a sorted list rather than by the histogram. */
  private static final int SHORT_TOP_K = 256;

  /** Slices of the logits' range in {@link #smallestKept}'s histogram. */
  private static final int BUCKETS = 2048;

  private final TokenRules rules;
  private final int vocabSize;
  private final Distribution distribution;
  private final double[] bucketWeights = new double[BUCKETS]; // scratch: weight per slice
  private final long[] sliceTokens; // (vocab) scratch: one slice's tokens, as orderKey()s
  private final boolean hasEos;

  public Sampler(TokenRules rules, int vocabSize) {
    this.rules = requireNonNull(rules, "rules is null");
    if (vocabSize < 1) {
      throw new IllegalArgumentException("vocabSize=" + vocabSize + ": must be at least 1");
    }
    this.vocabSize = vocabSize;
    this.distribution = new Distribution(vocabSize);
    this.sliceTokens = new long[vocabSize];
    this.hasEos = rules.eosTokenIds().length > 0;
  }

  public int vocabSize() {
    return vocabSize;
  }

  public TokenRules rules() {
    return rules;
  }

  /**
   * A generator for sequence {@code index} of a request: the same (seed, index) always gives the
   * same stream, whatever else the engine runs.
   */
  public static RandomGenerator generator(long seed, int index) {
    return new SplittableRandom(seed * 0x9E3779B97F4A7C15L + index);
  }

  /**
   * The processed distribution of the sequence's next token. The returned object is reused by the
   * next call.
   *
   * @param logits holds the row at {@code offset}, {@code vocabSize} values; left unchanged
   * @param maxTokens the request's effective {@code max_tokens}
   */
  public Distribution distribution(
      float[] logits, int offset, Sequence seq, SamplingParams params, int maxTokens) {
    float[] x = distribution.logits();
    System.arraycopy(logits, offset, x, 0, vocabSize);
    applyBans(x, seq, params);
    applyTokenRules(x, seq, params, maxTokens);
    applyPenalties(x, seq, params);
    if (params.temperature() > 0 && params.temperature() != 1) {
      float inverse = (float) (1 / params.temperature());
      for (int i = 0; i < vocabSize; i++) {
        x[i] *= inverse;
      }
    }
    distribution.findMax();
    if (params.temperature() > 0) {
      truncate(params);
    }
    distribution.normalize();
    return distribution;
  }

  /**
   * Chooses the next token: greedy or drawn from {@code random}, with requested logprobs; {@link
   * SampledToken#NONE_ALLOWED} when the bans leave no token.
   */
  public SampledToken choose(Distribution dist, SamplingParams params, RandomGenerator random) {
    if (!dist.allowsAny()) {
      return SampledToken.NONE_ALLOWED;
    }
    int token = params.temperature() == 0 ? dist.greedy() : dist.sample(random);
    PositionLogprobs logprobs =
        params.logprobs() == null ? null : dist.positionLogprobs(token, params.logprobs());
    return new SampledToken(token, dist.logprob(token), logprobs);
  }

  /**
   * Beam search's scores as HuggingFace computes them: log-softmax of the raw logits, then its
   * logits processors in its order on those scores: repetition penalty (a seen token's negative
   * score multiplied by the penalty), no-repeat n-grams and bad words, min-new-tokens (EOS at
   * -infinity without renormalizing) and forced BOS/EOS.
   *
   * @param out receives {@code vocabSize} log-probabilities at {@code outOffset}
   */
  public void beamLogprobs(
      float[] logits,
      int offset,
      Sequence seq,
      SamplingParams params,
      int maxTokens,
      float[] out,
      int outOffset) {
    float[] x = distribution.logits();
    System.arraycopy(logits, offset, x, 0, vocabSize);
    distribution.findMax();
    distribution.normalize();
    float logNormalizer = (float) distribution.logNormalizer();
    for (int i = 0; i < vocabSize; i++) {
      x[i] -= logNormalizer;
    }
    applyRepetitionPenalty(x, seq, params);
    applyBans(x, seq, params);
    applyTokenRules(x, seq, params, maxTokens);
    System.arraycopy(x, 0, out, outOffset, vocabSize);
  }

  /**
   * Whether temperature, top-k, top-p and min-p are all that shape the next tokens of {@code seq}
   * (a forced BOS / EOS aside, see {@link #forcedToken}): no logprobs asked for, no penalty, no
   * banned tokens, and no min_tokens mask at this position — nor then at any later one. Such rows
   * can be chosen where the logits are ({@link dev.tandem.api.backend.AttentionBackend#greedy},
   * {@link dev.tandem.api.backend.AttentionBackend#sample} with one uniform number from the
   * sequence's generator, as {@link Distribution#sample} draws it), several positions in a row.
   */
  public boolean isPlain(Sequence seq, SamplingParams params) {
    return params.logprobs() == null
        && params.repetitionPenalty() == 1
        && params.frequencyPenalty() == 0
        && params.presencePenalty() == 0
        && !TokenBans.any(params)
        && !suppressesStops(seq, params);
  }

  /** Whether min_tokens masks anything at this position: EOS (unless ignored), stop_token_ids. */
  private boolean suppressesStops(Sequence seq, SamplingParams params) {
    // The engine resolves a null min_tokens to the model's default; without one, none.
    return params.minTokens() != null
        && seq.outputLength() < params.minTokens()
        && ((!params.ignoreEos() && hasEos) || !params.stopTokenIds().isEmpty());
  }

  /**
   * The token HuggingFace's forced BOS / EOS rule imposes at the next position of {@code seq}, or
   * {@link TokenRules#NONE}. The rule leaves it the only candidate, so its log-probability is 0: a
   * token chosen on the backend at that position is replaced by it.
   */
  public int forcedToken(Sequence seq, SamplingParams params, int maxTokens) {
    if (rules.forcedBosTokenId() != TokenRules.NONE && seq.length() == 1) {
      return rules.forcedBosTokenId();
    }
    if (rules.forcedEosTokenId() != TokenRules.NONE
        && !params.ignoreEos()
        && seq.outputLength() == maxTokens - 1) {
      return rules.forcedEosTokenId();
    }
    return TokenRules.NONE;
  }

  private void applyBans(float[] x, Sequence seq, SamplingParams params) {
    if (TokenBans.any(params)) {
      TokenBans.apply(x, vocabSize, seq.tokenIds(), params, rules.eosTokenIds());
    }
  }

  /** Min-tokens suppression, then forced BOS / EOS (which win, as in HuggingFace). */
  private void applyTokenRules(float[] x, Sequence seq, SamplingParams params, int maxTokens) {
    if (suppressesStops(seq, params)) {
      if (!params.ignoreEos()) {
        for (int eos : rules.eosTokenIds()) {
          x[eos] = Float.NEGATIVE_INFINITY;
        }
      }
      for (int stop : params.stopTokenIds()) {
        if (stop >= 0 && stop < vocabSize) {
          x[stop] = Float.NEGATIVE_INFINITY;
        }
      }
    }
    int forced = forcedToken(seq, params, maxTokens);
    if (forced != TokenRules.NONE) {
      forceToken(x, forced);
    }
  }

  private void forceToken(float[] x, int token) {
    Arrays.fill(x, 0, vocabSize, Float.NEGATIVE_INFINITY);
    x[token] = 0;
  }

  /**
   * vLLM's penalties: repetition over the decoder's prompt and output tokens (divide positive
   * logits, multiply negative ones), frequency and presence over the output tokens.
   */
  private void applyPenalties(float[] x, Sequence seq, SamplingParams params) {
    applyRepetitionPenalty(x, seq, params);
    if (params.frequencyPenalty() != 0 || params.presencePenalty() != 0) {
      int[] tokens = seq.tokenIds();
      int[] output = Arrays.copyOfRange(tokens, seq.promptLength(), tokens.length);
      Arrays.sort(output);
      for (int i = 0; i < output.length; ) {
        int token = output[i];
        int end = i;
        while (end < output.length && output[end] == token) {
          end++;
        }
        int count = end - i;
        x[token] -= (float) (params.frequencyPenalty() * count + params.presencePenalty());
        i = end;
      }
    }
  }

  /**
   * Every token of the decoder sequence (prompt and output), once: positive values divided by the
   * penalty, negative ones multiplied (HuggingFace's and vLLM's repetition penalty).
   */
  private void applyRepetitionPenalty(float[] x, Sequence seq, SamplingParams params) {
    if (params.repetitionPenalty() == 1) {
      return;
    }
    int[] seen = seq.tokenIds().clone();
    Arrays.sort(seen);
    float penalty = (float) params.repetitionPenalty();
    for (int i = 0; i < seen.length; i++) {
      int token = seen[i];
      if ((i > 0 && seen[i - 1] == token) || token < 0 || token >= vocabSize) {
        continue;
      }
      x[token] = x[token] > 0 ? x[token] / penalty : x[token] * penalty;
    }
  }

  /** Top-k, then top-p, then min-p, each masking tokens (ties with the cut kept). */
  private void truncate(SamplingParams params) {
    int topK = params.topK();
    if (topK > 0 && topK < vocabSize) {
      float[] x = distribution.logits();
      // A short list of the best is one comparison for most tokens; a long one costs more.
      distribution.mask(
          topK <= SHORT_TOP_K
              ? x[Distribution.topIndices(x, vocabSize, topK)[topK - 1]]
              : smallestKept(topK, false));
    }
    if (params.topP() < 1) {
      distribution.mask(smallestKept(params.topP(), true));
    }
    if (params.minP() > 0) {
      // p < minP * pMax  <=>  logit < maxLogit + ln(minP)
      distribution.mask((float) (distribution.max() + Math.log(params.minP())));
    }
  }

  /**
   * The smallest logit that top-k or top-p keeps. Walking the tokens from the most likely, a token
   * is kept while what the tokens before it add up to is below the limit: their number below k
   * (top-k: the k-th largest logit and its ties), or their probability mass below p of the unmasked
   * total (vLLM masks the ascending cumulative mass &lt;= 1 - p). The first token of a logit v is
   * kept exactly when the tokens strictly above v add up to less than the limit, so the answer is
   * the smallest such v.
   *
   * <p>Found without sorting the vocabulary: a histogram of the unmasked logits over {@link
   * #BUCKETS} equal slices of [min, max] (the slice index never decreases as the logit does, and
   * ties share a slice), summed from the top, gives the slice where the limit is reached; only that
   * slice's tokens are sorted and walked, adding their weights as {@link Distribution#weights()}
   * computed them.
   *
   * @param limit k, or p
   * @param byMass whether tokens count by their probability mass (top-p) or as one each (top-k)
   */
  private float smallestKept(double limit, boolean byMass) {
    float[] x = distribution.logits();
    float[] weights = byMass ? distribution.weights() : null;
    float max = distribution.max();
    float min = distribution.minUnmasked();
    if (min == max) {
      return max; // one value left: every token of it is kept
    }
    float scale = (BUCKETS - 1) / (max - min);
    double[] histogram = bucketWeights;
    Arrays.fill(histogram, 0);
    for (int i = 0; i < vocabSize; i++) {
      if (x[i] != Float.NEGATIVE_INFINITY) {
        histogram[sliceOf(x[i], max, scale)] += byMass ? weights[i] : 1;
      }
    }
    double total = 0;
    for (double weight : histogram) {
      total += weight;
    }
    double target = byMass ? limit * total : limit;
    double above = 0; // weight of the slices above the one searched
    int slice = 0;
    while (slice < BUCKETS - 1 && above + histogram[slice] < target) {
      above += histogram[slice];
      slice++;
    }
    int n = 0;
    for (int i = 0; i < vocabSize; i++) {
      if (x[i] != Float.NEGATIVE_INFINITY && sliceOf(x[i], max, scale) == slice) {
        sliceTokens[n++] = orderKey(x[i], i);
      }
    }
    if (n == 0) {
      return min; // the limit is the whole weight (k of at least the unmasked tokens): keep all
    }
    Arrays.sort(sliceTokens, 0, n); // ascending logits: walk from the end
    float kept = max;
    for (int j = n - 1; j >= 0 && above < target; j--) {
      int token = (int) sliceTokens[j];
      kept = x[token];
      above += byMass ? weights[token] : 1;
    }
    return kept;
  }

  /**
   * The histogram slice of a logit: 0 for the max, BUCKETS - 1 for the min; never smaller for a
   * smaller logit. Both passes of {@link #smallestKept} must compute it the same way.
   */
  private static int sliceOf(float logit, float max, float scale) {
    return (int) ((max - logit) * scale);
  }

  /** A long that orders tokens by logit (then id): the logit's bits made monotone, and the id. */
  private static long orderKey(float logit, int token) {
    int bits = Float.floatToRawIntBits(logit);
    return (long) (bits ^ ((bits >> 31) & 0x7fffffff)) << 32 | token;
  }
}
