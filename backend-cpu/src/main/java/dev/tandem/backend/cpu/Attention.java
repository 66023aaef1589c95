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

    // Scores: vectorized dot products over headDim, four keys at a time so four independent FMA
    // chains hide the FMA latency (one key's chain alone waits 4 cycles per step).
    int j = 0;
    for (; j + 4 <= keys; j += 4) {
      dot4(q, qo, k, offset, j, headOffset, headDim, score);
    }
    for (; j < keys; j++) {
      score[j] = dot(q, qo, k, offset[j] + headOffset, headDim);
    }
    float max = Float.NEGATIVE_INFINITY;
    for (j = 0; j < keys; j++) {
      float s = score[j] * scale;
      if (biasByDistance != null) {
        s += biasByDistance[biasBase + j - queryPosition];
      }
      score[j] = s;
      max = Math.max(max, s);
    }
    float sum = softmaxNumerators(score, keys, max);
    int oo = query * plan.rowStride() + headOffset;
    if (keys == 0) {
      Arrays.fill(out, oo, oo + headDim, 0f);
      return; // no keys (empty encoder input): the output stays zero instead of NaN
    }
    float inv = 1f / sum;
    for (j = 0; j < keys; j++) {
      score[j] *= inv;
    }
    weightedSum(score, keys, v, offset, headOffset, headDim, out, oo);
  }

  /**
   * score[j] = exp(score[j] − max), the maximum subtracted so exp never overflows; returns the sum.
   * Scalar Math.exp on purpose: the Vector API's lanewise EXP was not always intrinsified by C2
   * (measured: one JMH fork allocated 2 MB per decode step in its fallback) and was no faster.
   */
  private static float softmaxNumerators(float[] score, int keys, float max) {
    float sum = 0f;
    for (int j = 0; j < keys; j++) {
      float e = (float) Math.exp(score[j] - max);
      score[j] = e;
      sum += e;
    }
    return sum;
  }

  /** score[j..j+4) = q · k rows at offset[j..j+4) + headOffset. */
  private static void dot4(
      float[] q, int qo, float[] k, int[] offset, int j, int headOffset, int len, float[] score) {
    int k0 = offset[j] + headOffset;
    int k1 = offset[j + 1] + headOffset;
    int k2 = offset[j + 2] + headOffset;
    int k3 = offset[j + 3] + headOffset;
    FloatVector a0 = FloatVector.zero(SPECIES);
    FloatVector a1 = a0;
    FloatVector a2 = a0;
    FloatVector a3 = a0;
    int i = 0;
    for (int bound = SPECIES.loopBound(len); i < bound; i += LANES) {
      FloatVector x = FloatVector.fromArray(SPECIES, q, qo + i);
      a0 = x.fma(FloatVector.fromArray(SPECIES, k, k0 + i), a0);
      a1 = x.fma(FloatVector.fromArray(SPECIES, k, k1 + i), a1);
      a2 = x.fma(FloatVector.fromArray(SPECIES, k, k2 + i), a2);
      a3 = x.fma(FloatVector.fromArray(SPECIES, k, k3 + i), a3);
    }
    float s0 = a0.reduceLanes(VectorOperators.ADD);
    float s1 = a1.reduceLanes(VectorOperators.ADD);
    float s2 = a2.reduceLanes(VectorOperators.ADD);
    float s3 = a3.reduceLanes(VectorOperators.ADD);
    for (; i < len; i++) {
      float x = q[qo + i];
      s0 += x * k[k0 + i];
      s1 += x * k[k1 + i];
      s2 += x * k[k2 + i];
      s3 += x * k[k3 + i];
    }
    score[j] = s0;
    score[j + 1] = s1;
    score[j + 2] = s2;
    score[j + 3] = s3;
  }

  /**
   * out[oo..oo+len) = Σ_j p[j] · v row j. The output is held in registers, four vectors at a time,
   * across all keys: four independent FMA chains, and no load/store of out per key.
   */
  private static void weightedSum(
      float[] p, int keys, float[] v, int[] offset, int headOffset, int len, float[] out, int oo) {
    int i = 0;
    for (; i + 4 * LANES <= len; i += 4 * LANES) {
      FloatVector a0 = FloatVector.zero(SPECIES);
      FloatVector a1 = a0;
      FloatVector a2 = a0;
      FloatVector a3 = a0;
      for (int j = 0; j < keys; j++) {
        FloatVector w = FloatVector.broadcast(SPECIES, p[j]);
        int vo = offset[j] + headOffset + i;
        a0 = FloatVector.fromArray(SPECIES, v, vo).fma(w, a0);
        a1 = FloatVector.fromArray(SPECIES, v, vo + LANES).fma(w, a1);
        a2 = FloatVector.fromArray(SPECIES, v, vo + 2 * LANES).fma(w, a2);
        a3 = FloatVector.fromArray(SPECIES, v, vo + 3 * LANES).fma(w, a3);
      }
      a0.intoArray(out, oo + i);
      a1.intoArray(out, oo + i + LANES);
      a2.intoArray(out, oo + i + 2 * LANES);
      a3.intoArray(out, oo + i + 3 * LANES);
    }
    for (; i + LANES <= len; i += LANES) {
      FloatVector a = FloatVector.zero(SPECIES);
      for (int j = 0; j < keys; j++) {
        a =
            FloatVector.fromArray(SPECIES, v, offset[j] + headOffset + i)
                .fma(FloatVector.broadcast(SPECIES, p[j]), a);
      }
      a.intoArray(out, oo + i);
    }
    for (; i < len; i++) {
      float a = 0f;
      for (int j = 0; j < keys; j++) {
        a += p[j] * v[offset[j] + headOffset + i];
      }
      out[oo + i] = a;
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
}
