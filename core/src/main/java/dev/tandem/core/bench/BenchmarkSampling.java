package dev.tandem.core.bench;

import dev.tandem.api.sequence.SamplingParams;
import java.util.Locale;

/**
 * How the benchmark's requests choose their tokens: greedy (the default, as the HuggingFace peer
 * runs), drawn with temperature, top-p and top-k, as vLLM's throughput benchmark samples
 * (temperature 1, top-p 1), or beam search (HuggingFace's {@code num_beams}, the best beam
 * returned). Whatever the choice, every request generates exactly O tokens.
 *
 * @param temperature 0 for greedy and beam search
 * @param topP in (0, 1]
 * @param topK -1 for all tokens
 * @param numBeams 1, or the beams of a beam search
 */
public record BenchmarkSampling(double temperature, double topP, int topK, int numBeams) {

  public static final BenchmarkSampling GREEDY = new BenchmarkSampling(0, 1, -1, 1);

  public BenchmarkSampling {
    params(temperature, topP, topK, numBeams).build(); // the parameters' own checks and messages
    if (numBeams > 1 && temperature != 0) {
      throw new IllegalArgumentException(
          "num_beams=" + numBeams + ": beam search does not sample; temperature must be 0");
    }
  }

  /** A builder with these choices and nothing else set. */
  SamplingParams.Builder params() {
    return params(temperature, topP, topK, numBeams);
  }

  private static SamplingParams.Builder params(
      double temperature, double topP, int topK, int numBeams) {
    return SamplingParams.builder()
        .temperature(temperature)
        .topP(topP)
        .topK(topK)
        .numBeams(numBeams);
  }

  /**
   * "greedy", "num_beams=4", or the sampling parameters that differ from vLLM's defaults, e.g.
   * "temperature=1 top_p=0.9".
   */
  public String label() {
    if (numBeams > 1) {
      return "num_beams=" + numBeams;
    }
    if (temperature == 0) {
      return "greedy";
    }
    StringBuilder label = new StringBuilder("temperature=" + number(temperature));
    if (topP < 1) {
      label.append(" top_p=").append(number(topP));
    }
    if (topK > 0) {
      label.append(" top_k=").append(topK);
    }
    return label.toString();
  }

  private static String number(double value) {
    return value == Math.rint(value)
        ? String.valueOf((long) value)
        : String.format(Locale.ROOT, "%s", value);
  }
}
