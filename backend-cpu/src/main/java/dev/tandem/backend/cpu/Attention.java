package dev.tandem.backend.cpu;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Scaled dot-product attention for one (query row, head) at a time, over keys given as element
 * offsets into a K and a V array: contiguous tensor rows at prefill, paged cache slots at decode.
 * Resolving the key layout to offsets first keeps one kernel for every attention type. Softmax is
 * float32 with the maximum subtracted.
 */
final class Attention {

  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
  private static final int LANES = SPECIES.length();

  /** Query-head tasks per thread below which one thread is faster. */
  private static final int MIN_TASKS_PER_THREAD = 4;

  private final WorkerPool pool;
  private final float[][] scores; // (worker) -> (keys): softmax numerators
  private final int[][] offsets; // (worker) -> (keys): element offset of each key row

  Attention(WorkerPool pool) {
    this.pool = pool;
    this.scores = new float[pool.threads()][];
    this.offsets = new int[pool.threads()][];
  }

  /**
   * Runs every (query, head) task of a prepared plan. {@code plan} says, per query, which keys it
   * sees; {@code biasByDistance} is (numHeads, 2 * maxKeys − 1) indexed by kPos − qPos + maxKeys −
   * 1, or null.
   */
  void run(AttentionPlan plan, float[] q, float[] out, float[] biasByDistance) {
    int maxKeys = plan.maxKeys();
    for (int w = 0; w < scores.length; w++) {
      if (scores[w] == null || scores[w].length < maxKeys) {
        // Grown once to the longest context seen; steady-state decode allocates nothing here.
        scores[w] = new float[Math.max(maxKeys, 64)];
        offsets[w] = new int[Math.max(maxKeys, 64)];
      }
    }
    int heads = plan.numHeads();
    pool.forRange(
        plan.numQueries() * heads,
        MIN_TASKS_PER_THREAD,
        (worker, start, end) -> {
          float[] score = scores[worker];
          int[] offset = offsets[worker];
          for (int task = start; task < end; task++) {
            int query = task / heads;
            int head = task % heads;
            int keys = plan.keyOffsets(query, offset);
            attendOne(plan, query, head, keys, q, out, biasByDistance, score, offset);
          }
        });
  }

  private static void attendOne(
      AttentionPlan plan,
      int query,
      int head,
      int keys,
      float[] q,
      float[] out,
      float[] biasByDistance,
      float[] score,
      int[] offset) {
    int headDim = plan.headDim();
    int headOffset = head * headDim;
    int qo = query * plan.rowStride() + headOffset;
    float[] k = plan.keys();
    float[] v = plan.values();
    float scale = plan.scale();
    int biasBase = biasByDistance == null ? 0 : head * plan.distanceSpan() + plan.maxKeys() - 1;
    int queryPosition = plan.queryPosition(query);

    // Scores: one vectorized dot product over headDim per key, plus the relative bias.
    float max = Float.NEGATIVE_INFINITY;
    for (int j = 0; j < keys; j++) {
      float s = dot(q, qo, k, offset[j] + headOffset, headDim) * scale;
      if (biasByDistance != null) {
        s += biasByDistance[biasBase + j - queryPosition];
      }
      score[j] = s;
      max = Math.max(max, s);
    }
    // Softmax numerators with the maximum subtracted so exp never overflows.
    float sum = 0f;
    for (int j = 0; j < keys; j++) {
      float e = (float) Math.exp(score[j] - max);
      score[j] = e;
      sum += e;
    }
    int oo = query * plan.rowStride() + headOffset;
    Arrays.fill(out, oo, oo + headDim, 0f);
    if (keys == 0) {
      return; // no keys (empty encoder input): the output stays zero instead of NaN
    }
    float inv = 1f / sum;
    for (int j = 0; j < keys; j++) {
      axpy(score[j] * inv, v, offset[j] + headOffset, out, oo, headDim);
    }
  }

  /** a[ao..ao+len) · b[bo..bo+len). */
  static float dot(float[] a, int ao, float[] b, int bo, int len) {
    FloatVector acc = FloatVector.zero(SPECIES);
    int i = 0;
    for (int bound = SPECIES.loopBound(len); i < bound; i += LANES) {
      acc =
          FloatVector.fromArray(SPECIES, a, ao + i)
              .fma(FloatVector.fromArray(SPECIES, b, bo + i), acc);
    }
    float s = acc.reduceLanes(VectorOperators.ADD);
    for (; i < len; i++) {
      s += a[ao + i] * b[bo + i];
    }
    return s;
  }

  /** y[yo..yo+len) += alpha · x[xo..xo+len). */
  static void axpy(float alpha, float[] x, int xo, float[] y, int yo, int len) {
    FloatVector a = FloatVector.broadcast(SPECIES, alpha);
    int i = 0;
    for (int bound = SPECIES.loopBound(len); i < bound; i += LANES) {
      FloatVector.fromArray(SPECIES, x, xo + i)
          .fma(a, FloatVector.fromArray(SPECIES, y, yo + i))
          .intoArray(y, yo + i);
    }
    for (; i < len; i++) {
      y[yo + i] += alpha * x[xo + i];
    }
  }
}
