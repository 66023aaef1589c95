package dev.tandem.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The prefill path (query blocks against transposed keys) against {@link ScalarReference#attend}:
 * uneven query and key counts (blocks of fewer than four queries, key counts off the vector width,
 * a sequence without keys), causal or not, with and without a bias by distance.
 */
class PrefillAttentionTest {

  private static final int HEADS = 3;

  @ParameterizedTest(name = "headDim={0} causal={1} bias={2}")
  @CsvSource({"64, false, false", "64, true, true", "32, true, false", "128, false, true"})
  void matchesTheReference(int headDim, boolean causal, boolean withBias) {
    Random random = new Random(headDim * 31L + (causal ? 7 : 0) + (withBias ? 3 : 0));
    int[] queryLens = causal ? new int[] {13, 1, 30, 9} : new int[] {13, 6, 30, 9};
    int[] keyLens = causal ? queryLens : new int[] {17, 0, 33, 8};
    int stride = HEADS * headDim;
    int queries = Arrays.stream(queryLens).sum();
    int keys = Arrays.stream(keyLens).sum();
    float[] q = ScalarReference.random(random, queries * stride);
    float[] k = ScalarReference.random(random, keys * stride);
    float[] v = ScalarReference.random(random, keys * stride);
    float scale = (float) (1 / Math.sqrt(headDim));
    AttentionPlan plan = new AttentionPlan();
    plan.contiguous(HEADS, headDim, scale, k, v, queryLens, keyLens, causal);
    assertTrue(PrefillAttention.takes(plan), "the plan should take the prefill path");
    int span = plan.distanceSpan(); // bias index: h · span + kPos − qPos + maxKeys − 1
    float[] bias = withBias ? ScalarReference.random(random, HEADS * span) : null;
    float[] out = new float[queries * stride];
    Arrays.fill(out, Float.NaN); // every output must be written
    try (WorkerPool pool = new WorkerPool(2)) {
      new PrefillAttention(pool).run(plan, q, out, bias);
    }
    double worst = 0;
    for (int s = 0, query = 0, key = 0; s < queryLens.length; key += keyLens[s], s++) {
      for (int i = 0; i < queryLens[s]; i++, query++) {
        int seen = causal ? i + 1 : keyLens[s];
        float[][] keyRows = new float[seen][];
        float[][] valueRows = new float[seen][];
        double[][] rowBias = withBias ? new double[HEADS][seen] : null;
        for (int j = 0; j < seen; j++) {
          keyRows[j] = Arrays.copyOfRange(k, (key + j) * stride, (key + j + 1) * stride);
          valueRows[j] = Arrays.copyOfRange(v, (key + j) * stride, (key + j + 1) * stride);
          for (int h = 0; withBias && h < HEADS; h++) {
            rowBias[h][j] = bias[h * span + j - i + plan.maxKeys() - 1];
          }
        }
        float[] queryRow = Arrays.copyOfRange(q, query * stride, (query + 1) * stride);
        double[] expected =
            ScalarReference.attend(queryRow, keyRows, valueRows, HEADS, headDim, scale, rowBias);
        for (int d = 0; d < stride; d++) {
          worst = Math.max(worst, Math.abs(out[query * stride + d] - expected[d]));
        }
      }
    }
    assertEquals(0, worst, 1e-5, "largest |difference| from the reference");
  }
}
