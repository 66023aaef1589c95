package dev.tandem.core.sampling;

import dev.tandem.api.backend.SamplingRows;
import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.api.sequence.Sequence;
import java.util.random.RandomGenerator;

/**
 * The host sampler's choice for one logits row with a given uniform number: the reference that a
 * backend's {@code sample} (and the engine's hand-over of rows to it) must reproduce.
 */
public final class ReferenceDraw {

  private ReferenceDraw() {}

  /** A sampler without token rules: rows handed to a backend have none in force. */
  public static Sampler sampler(int vocab) {
    return new Sampler(new TokenRules(new int[0], TokenRules.NONE, TokenRules.NONE), vocab);
  }

  /** Row r's settings as sampling parameters, top-p and min-p scaled by the factors (at most 1). */
  public static SamplingParams params(
      SamplingRows rows, int r, double topPFactor, double minPFactor) {
    return SamplingParams.builder()
        .temperature(rows.temperature(r))
        .topK(rows.topK(r) == 0 ? -1 : rows.topK(r))
        .topP(Math.min(1, rows.topP(r) * topPFactor))
        .minP(Math.min(1, rows.minP(r) * minPFactor))
        .build();
  }

  /**
   * The token the host sampler chooses from logits row {@code row} (vocabulary-sized rows) under
   * {@code params}, with {@code uniform} as the one number its draw takes.
   */
  public static SampledToken draw(
      Sampler sampler, float[] logits, int row, SamplingParams params, double uniform) {
    RandomGenerator draw =
        new RandomGenerator() {
          @Override
          public double nextDouble() {
            return uniform;
          }

          @Override
          public long nextLong() {
            throw new AssertionError("the draw takes one double");
          }
        };
    Sequence seq = new Sequence(-1, new int[] {0});
    Distribution dist =
        sampler.distribution(logits, row * sampler.vocabSize(), seq, params, Integer.MAX_VALUE);
    return sampler.choose(dist, params, draw);
  }
}
