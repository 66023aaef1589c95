package dev.tandem.benchmarks.sampling;

import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.core.sampling.Distribution;
import dev.tandem.core.sampling.Sampler;
import dev.tandem.core.sampling.TokenRules;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The host sampler on one row of t5-small-sized logits (32128 tokens, random normal with standard
 * deviation 4), one thread: what the engine spends per sampled sequence per step when the rows are
 * not plain greedy. {@code choose} is {@code Sampler.distribution} then {@code choose} with the
 * parameters of {@code mode}; {@code beamScores} is beam search's log-softmax of a row. Rows cycle
 * over 8 different ones so that no result is reused.
 *
 * <p>{@code java --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar
 * SamplerBenchmark -f 1 -wi 3 -i 5 -w 1 -r 1}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class SamplerBenchmark {

  private static final int VOCAB = 32128;
  private static final int ROWS = 8;

  /** greedy (with logprobs=1, so not decided on the backend), temperature 1, top-p, top-k. */
  @Param({"greedy-logprobs", "temperature", "top-p", "top-k", "top-k-top-p"})
  public String mode;

  private float[] logits;
  private Sampler sampler;
  private SamplingParams params;
  private Sequence sequence;
  private RandomGenerator random;
  private float[] scores;
  private int row;

  @Setup
  public void setUp() {
    Random values = new Random(1);
    logits = new float[ROWS * VOCAB];
    for (int i = 0; i < logits.length; i++) {
      logits[i] = (float) (values.nextGaussian() * 4);
    }
    sampler = new Sampler(new TokenRules(new int[] {1}, TokenRules.NONE, TokenRules.NONE), VOCAB);
    params =
        switch (mode) {
          case "greedy-logprobs" -> SamplingParams.builder().logprobs(1).build();
          case "temperature" -> SamplingParams.builder().temperature(1).build();
          case "top-p" -> SamplingParams.builder().temperature(0.8).topP(0.9).build();
          case "top-k" -> SamplingParams.builder().temperature(0.8).topK(50).build();
          case "top-k-top-p" ->
              SamplingParams.builder().temperature(0.8).topK(50).topP(0.95).build();
          default -> throw new IllegalArgumentException("unknown mode " + mode);
        };
    sequence = new Sequence(1, new int[] {0});
    random = Sampler.generator(7, 0);
    scores = new float[VOCAB];
  }

  @Benchmark
  public int choose() {
    row = (row + 1) % ROWS;
    Distribution dist = sampler.distribution(logits, row * VOCAB, sequence, params, 1000);
    return sampler.choose(dist, params, random).token();
  }

  @Benchmark
  public float beamScores() {
    row = (row + 1) % ROWS;
    sampler.beamLogprobs(logits, row * VOCAB, sequence, params, 1000, scores, 0);
    return scores[row];
  }
}
