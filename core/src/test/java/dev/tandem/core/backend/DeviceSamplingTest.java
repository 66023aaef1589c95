package dev.tandem.core.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.backend.BackendConfig;
import dev.tandem.api.backend.DataType;
import dev.tandem.api.backend.DeviceTensor;
import dev.tandem.api.backend.SamplingRows;
import dev.tandem.core.sampling.ReferenceDraw;
import dev.tandem.core.sampling.SampledToken;
import dev.tandem.core.sampling.Sampler;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every backend that samples on the device ({@link AttentionBackend#sample}) draws the tokens the
 * host {@link Sampler} draws from the same logits, settings and uniform numbers, on random rows:
 * greedy, temperature, top-k (ties included), top-p, min-p and their combinations. A row may differ
 * only where the host's own draw changes when the uniform number, top-p or min-p moves by 1e-5 of
 * itself (float sums in another order decide such boundaries); those are counted and must stay
 * rare. Where no backend samples on the device (no OpenCL, no GPU), the test is aborted with the
 * reasons.
 */
class DeviceSamplingTest {

  private static final int ROWS = 96;
  private static final double NUDGE = 1e-5;

  static Stream<String> samplingBackends() {
    System.out.println("backend providers: " + BackendConformanceTest.listing());
    List<String> names = new ArrayList<>();
    for (AttentionBackendProvider p : BackendConformanceTest.providers()) {
      if (p.availability().available()) {
        try (AttentionBackend b = p.create(BackendConfig.defaults())) {
          if (b.samplesOnDevice()) {
            names.add(p.name());
          }
        }
      }
    }
    return names.isEmpty() ? Stream.of("none") : names.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("samplingBackends")
  void drawsWhatTheHostSamplerDraws(String provider) {
    if (provider.equals("none")) {
      Assumptions.abort(
          "no available backend samples on the device (opencl and cuda do): "
              + BackendConformanceTest.listing());
    }
    AttentionBackendProvider p =
        BackendConformanceTest.providers().stream()
            .filter(x -> x.name().equals(provider))
            .findFirst()
            .orElseThrow();
    try (AttentionBackend backend = p.create(BackendConfig.defaults())) {
      int boundaries = 0;
      int rows = 0;
      for (int vocab : new int[] {1, 2, 33, 5003, 32128}) {
        long start = System.nanoTime();
        int atBoundary = checkRows(backend, vocab, new SplittableRandom(vocab));
        System.out.printf(
            "%s: vocab %d, %d rows, %d at a boundary, %.1f s%n",
            provider, vocab, ROWS, atBoundary, (System.nanoTime() - start) / 1e9);
        boundaries += atBoundary;
        rows += ROWS;
      }
      assertTrue(boundaries <= rows / 50, boundaries + " of " + rows + " rows drawn at a boundary");
    }
  }

  /** Samples ROWS random rows of one vocabulary size; returns how many fell at a boundary. */
  static int checkRows(AttentionBackend backend, int vocab, SplittableRandom random) {
    float[] logits = new float[ROWS * vocab];
    SamplingRows rows = new SamplingRows();
    for (int r = 0; r < ROWS; r++) {
      double scale = new double[] {0.5, 2, 6}[r % 3];
      boolean ties = r % 4 == 1;
      for (int i = 0; i < vocab; i++) {
        float x = (float) (random.nextGaussian() * scale);
        logits[r * vocab + i] = ties ? Math.round(x * 2) / 2f : x;
      }
      rows.add(
          pick(random, 0, 0.5, 1, 1.7),
          (int) pick(random, -1, -1, 1, 5, 50, 300, vocab - 1, vocab + 10),
          pick(random, 1, 1, 0.95, 0.6, 0.05),
          pick(random, 0, 0, 0.02, 0.3),
          random.nextDouble());
    }
    DeviceTensor in = backend.upload(logits);
    DeviceTensor idsOut = backend.allocate(DataType.I32, ROWS);
    DeviceTensor logprobsOut = backend.allocate(DataType.F32, ROWS);
    backend.sample(in, ROWS, vocab, rows, idsOut, logprobsOut);
    int[] ids = new int[ROWS];
    float[] logprobs = new float[ROWS];
    backend.read(idsOut, 0, ids, 0, ROWS);
    backend.read(logprobsOut, 0, logprobs, 0, ROWS);
    backend.sample(in, ROWS, vocab, rows, idsOut, logprobsOut);
    int[] again = new int[ROWS];
    backend.read(idsOut, 0, again, 0, ROWS);
    assertArrayEquals(ids, again, "vocab " + vocab + ": the same input drew other tokens");
    for (DeviceTensor t : List.of(in, idsOut, logprobsOut)) {
      backend.free(t);
    }

    Sampler sampler = ReferenceDraw.sampler(vocab);
    int boundaries = 0;
    for (int r = 0; r < ROWS; r++) {
      String what = "vocab " + vocab + ", row " + r + " " + describe(rows, r);
      double[] host = draw(sampler, logits, r, rows, 1, 1, 1);
      if (ids[r] == (int) host[0]) {
        assertEquals(host[1], logprobs[r], 1e-4 * Math.max(1, Math.abs(host[1])), what);
        continue;
      }
      boolean nearby = false;
      for (double up : new double[] {1 - NUDGE, 1 + NUDGE}) {
        nearby |= ids[r] == (int) draw(sampler, logits, r, rows, up, 1, 1)[0];
        nearby |= ids[r] == (int) draw(sampler, logits, r, rows, 1, up, 1)[0];
        nearby |= ids[r] == (int) draw(sampler, logits, r, rows, 1, 1, up)[0];
      }
      assertTrue(nearby, what + ": drew " + ids[r] + ", the host sampler " + (int) host[0]);
      boundaries++;
    }
    return boundaries;
  }

  /**
   * The host sampler's token and log-probability for row r, with the row's uniform number, top-p
   * and min-p scaled by the given factors (within their ranges).
   */
  private static double[] draw(
      Sampler sampler, float[] logits, int r, SamplingRows rows, double u, double p, double m) {
    double uniform = Math.min(Math.nextDown(1.0), rows.uniform(r) * u);
    SampledToken token =
        ReferenceDraw.draw(sampler, logits, r, ReferenceDraw.params(rows, r, p, m), uniform);
    return new double[] {token.token(), token.logprob()};
  }

  private static double pick(SplittableRandom random, double... values) {
    return values[random.nextInt(values.length)];
  }

  private static String describe(SamplingRows rows, int r) {
    return "(temperature "
        + rows.temperature(r)
        + ", top-k "
        + rows.topK(r)
        + ", top-p "
        + rows.topP(r)
        + ", min-p "
        + rows.minP(r)
        + ", u "
        + rows.uniform(r)
        + ")";
  }
}
