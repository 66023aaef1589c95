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

  private static final VectorSpecies<Float> SPECIES = Simd.SPECIES;
  private static final int LANES = SPECIES.length();

  /**
   * Tasks per thread below which one thread is faster. A task is at least one head over all its
   * keys (thousands of FMAs) and the pool hands a loop over in about a microsecond, so two suffice:
   * with 16 threads a batch of 32 queries then spreads over all of them.
   */
  private static final int MIN_TASKS_PER_THREAD = 2;

  /** Keys per weighted-sum chunk: 8 value rows of t5-small (8 × 2 KiB) stay in L1 across heads. */
  private static final int KEY_CHUNK = 8;

  private final WorkerPool pool;
  private final PrefillAttention prefill;
  private final float[][] scores; // (worker) -> (keys): softmax numerators
  private final int[][] offsets; // (worker) -> (keys): element offset of each key row

  Attention(WorkerPool pool) {
    this.pool = pool;
    this.prefill = new PrefillAttention(pool);
    this.scores = new float[pool.threads()][];
    this.offsets = new int[pool.threads()][];
  }

  /**
   * Runs every query of a prepared plan. {@code plan} says, per query, which keys it sees; {@code
   * biasByDistance} is (numHeads, 2 * maxKeys − 1) indexed by kPos − qPos + maxKeys − 1, or null.
   *
   * <p>A task is one query with all its heads when there are queries enough to keep every thread
   * busy (decode batches, prefill): each key and value row (all heads, contiguous) is then read
   * from memory once, while it is in L1, instead of once per head. With fewer queries (decode of
   * one sequence) a task is one (query, head), so the heads spread over the threads.
   */
  void run(AttentionPlan plan, float[] q, float[] out, float[] biasByDistance) {
    if (PrefillAttention.takes(plan)) {
      prefill.run(plan, q, out, biasByDistance);
    } else {
      runPerQuery(plan, q, out, biasByDistance);
    }
  }

  /** {@link #run} one query (or one query and head) per task. */
  void runPerQuery(AttentionPlan plan, float[] q, float[] out, float[] biasByDistance) {
    int maxKeys = plan.maxKeys();
    int heads = plan.numHeads();
    for (int w = 0; w < scores.length; w++) {
      if (scores[w] == null || scores[w].length < heads * maxKeys) {
        // Grown once to the longest context seen; steady-state decode allocates nothing here.
        scores[w] = new float[heads * Math.max(maxKeys, 64)];
        offsets[w] = new int[Math.max(maxKeys, 64)];
      }
    }
    int headsPerTask = plan.numQueries() >= 2 * scores.length ? heads : 1;
    int tasksPerQuery = heads / headsPerTask;
    pool.forRange(
        plan.numQueries() * tasksPerQuery,
        MIN_TASKS_PER_THREAD,
        (worker, start, end) -> {
          float[] score = scores[worker];
          int[] offset = offsets[worker];
          for (int task = start; task < end; task++) {
            int query = task / tasksPerQuery;
            int head0 = task % tasksPerQuery * headsPerTask;
            int keys = plan.keyOffsets(query, offset);
            attend(
                plan,
                query,
                head0,
                head0 + headsPerTask,
                keys,
                q,
                out,
                biasByDistance,
                score,
                offset);
          }
        });
  }

  /** Heads [head0, head1) of one query; score holds (heads, keys) at a stride of maxKeys. */
  private static void attend(
      AttentionPlan plan,
      int query,
      int head0,
      int head1,
      int keys,
      float[] q,
      float[] out,
      float[] biasByDistance,
      float[] score,
      int[] offset) {
    int headDim = plan.headDim();
    int row = query * plan.rowStride();
    int stride = plan.maxKeys();
    float[] k = plan.keys();
    float[] v = plan.values();
    if (keys == 0) {
      // No keys (empty encoder input): the output stays zero instead of NaN.
      Arrays.fill(out, row + head0 * headDim, row + head1 * headDim, 0f);
      return;
    }

    // Scores: vectorized dot products over headDim, four keys at a time so four independent FMA
    // chains hide the FMA latency (one key's chain alone waits 4 cycles per step); the heads loop
    // inside, so the four key rows stay in L1 across it.
    // The four keys of a step come from the four quarters of the context: four streams through
    // memory at once, each in its own pages, instead of one (a key row of t5-small is 2 KiB, so a
    // single stream crosses a 4 KiB page, where hardware prefetching stops, every second key).
    // DecodeAttentionBenchmark: 7.3-8.1 -> 9.1-10.7 GB/s of K and V read. (The same order for
    // the weighted sums of the values measured no better.)
    int quarter = keys / 4;
    for (int t = 0; t < quarter; t++) {
      for (int h = head0; h < head1; h++) {
        dot4(q, row + h * headDim, k, offset, t, quarter, h * headDim, headDim, score, h * stride);
      }
    }
    for (int j = 4 * quarter; j < keys; j++) {
      for (int h = head0; h < head1; h++) {
        score[h * stride + j] = dot(q, row + h * headDim, k, offset[j] + h * headDim, headDim);
      }
    }
    int queryPosition = plan.queryPosition(query);
    for (int h = head0; h < head1; h++) {
      int biasBase = biasByDistance == null ? 0 : h * plan.distanceSpan() + stride - 1;
      probabilities(
          score, h * stride, keys, plan.scale(), biasByDistance, biasBase - queryPosition);
    }
    if (plan.paged() && head0 == 0 && head1 == plan.numHeads()) {
      weightedSumRows(score, stride, keys, head1, headDim, v, offset, out, row);
      return;
    }
    // Weighted sums over chunks of keys, the heads inside, so the chunk's value rows stay in L1.
    for (int j0 = 0; j0 < keys; j0 += KEY_CHUNK) {
      int j1 = Math.min(keys, j0 + KEY_CHUNK);
      for (int h = head0; h < head1; h++) {
        weightedSum(
            score, h * stride, j0, j1, v, offset, h * headDim, headDim, out, row + h * headDim);
      }
    }
  }

  /**
   * score[s..s+keys) becomes softmax(score · scale + bias[b + j]) (no bias when biasByDistance is
   * null), float32 with the maximum subtracted.
   */
  static void probabilities(
      float[] score, int s, int keys, float scale, float[] biasByDistance, int b) {
    FloatVector maxes = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
    int j = 0;
    for (int bound = SPECIES.loopBound(keys); j < bound; j += LANES) {
      FloatVector x = FloatVector.fromArray(SPECIES, score, s + j).mul(scale);
      if (biasByDistance != null) {
        x = x.add(FloatVector.fromArray(SPECIES, biasByDistance, b + j));
      }
      x.intoArray(score, s + j);
      maxes = maxes.max(x);
    }
    float max = maxes.reduceLanes(VectorOperators.MAX);
    for (; j < keys; j++) {
      float x = score[s + j] * scale;
      if (biasByDistance != null) {
        x += biasByDistance[b + j];
      }
      score[s + j] = x;
      max = Math.max(max, x);
    }
    float inv = 1f / softmaxNumerators(score, s, keys, max);
    j = 0;
    for (int bound = SPECIES.loopBound(keys); j < bound; j += LANES) {
      FloatVector.fromArray(SPECIES, score, s + j).mul(inv).intoArray(score, s + j);
    }
    for (; j < keys; j++) {
      score[s + j] *= inv;
    }
  }

  /**
   * score[s + j] = exp(score[s + j] − max), the maximum subtracted so exp never overflows; returns
   * the sum. A vector at a time with {@link VectorMath} (within 2e-7 of Math.exp).
   */
  private static float softmaxNumerators(float[] score, int s, int keys, float max) {
    FloatVector sums = FloatVector.zero(SPECIES);
    int j = s;
    for (int bound = s + SPECIES.loopBound(keys); j < bound; j += LANES) {
      FloatVector e = VectorMath.expNonPositive(FloatVector.fromArray(SPECIES, score, j).sub(max));
      e.intoArray(score, j);
      sums = sums.add(e);
    }
    float sum = sums.reduceLanes(VectorOperators.ADD);
    for (; j < s + keys; j++) {
      float e = (float) Math.exp(score[j] - max);
      score[j] = e;
      sum += e;
    }
    return sum;
  }

  /** score[s + j] = q · k row at offset[j] + headOffset for keys j = t, t + d, t + 2d, t + 3d. */
  private static void dot4(
      float[] q,
      int qo,
      float[] k,
      int[] offset,
      int t,
      int d,
      int headOffset,
      int len,
      float[] score,
      int s) {
    int k0 = offset[t] + headOffset;
    int k1 = offset[t + d] + headOffset;
    int k2 = offset[t + 2 * d] + headOffset;
    int k3 = offset[t + 3 * d] + headOffset;
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
    score[s + t] = s0;
    score[s + t + d] = s1;
    score[s + t + 2 * d] = s2;
    score[s + t + 3 * d] = s3;
  }

  /**
   * out[oo..oo+len) (+)= Σ_{j in [j0, j1)} p[s + j] · v row j: the first chunk (j0 = 0) sets out,
   * later ones add to it. The output is held in registers, four vectors at a time, across the
   * chunk's keys: four independent FMA chains, and one load/store of out per chunk.
   */
  private static void weightedSum(
      float[] p,
      int s,
      int j0,
      int j1,
      float[] v,
      int[] offset,
      int headOffset,
      int len,
      float[] out,
      int oo) {
    boolean first = j0 == 0;
    int i = 0;
    for (; i + 4 * LANES <= len; i += 4 * LANES) {
      FloatVector a0 = start(out, oo + i, first);
      FloatVector a1 = start(out, oo + i + LANES, first);
      FloatVector a2 = start(out, oo + i + 2 * LANES, first);
      FloatVector a3 = start(out, oo + i + 3 * LANES, first);
      for (int j = j0; j < j1; j++) {
        FloatVector w = FloatVector.broadcast(SPECIES, p[s + j]);
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
      FloatVector a = start(out, oo + i, first);
      for (int j = j0; j < j1; j++) {
        a =
            FloatVector.fromArray(SPECIES, v, offset[j] + headOffset + i)
                .fma(FloatVector.broadcast(SPECIES, p[s + j]), a);
      }
      a.intoArray(out, oo + i);
    }
    for (; i < len; i++) {
      float a = first ? 0f : out[oo + i];
      for (int j = j0; j < j1; j++) {
        a += p[s + j] * v[offset[j] + headOffset + i];
      }
      out[oo + i] = a;
    }
  }

  /**
   * out(heads, headDim) at oo = Σ_j p[h][j] · v row j, for a decode task that owns all heads: key
   * by key, each value row read once from start to end (a contiguous stream through the cache
   * block; going head by head over chunks of keys jumped 2 KiB from row to row), the output row in
   * L1. Each output adds the keys in order, one fma each, as {@link #weightedSum} does.
   * DecodeAttentionBenchmark: 9.1-10.4 -> 12.1-13.1 GB/s. At prefill the value rows are in cache
   * already and the output's loads and stores per key made it slower than the chunks.
   */
  private static void weightedSumRows(
      float[] p,
      int stride,
      int keys,
      int heads,
      int headDim,
      float[] v,
      int[] offset,
      float[] out,
      int oo) {
    int width = heads * headDim;
    Arrays.fill(out, oo, oo + width, 0f);
    int vectors = SPECIES.loopBound(headDim);
    for (int j = 0; j < keys; j++) {
      int vo = offset[j];
      for (int h = 0; h < heads; h++) {
        float weight = p[h * stride + j];
        FloatVector w = FloatVector.broadcast(SPECIES, weight);
        int o = oo + h * headDim;
        int vh = vo + h * headDim;
        int i = 0;
        for (; i < vectors; i += LANES) {
          FloatVector.fromArray(SPECIES, v, vh + i)
              .fma(w, FloatVector.fromArray(SPECIES, out, o + i))
              .intoArray(out, o + i);
        }
        for (; i < headDim; i++) {
          out[o + i] += weight * v[vh + i];
        }
      }
    }
  }

  private static FloatVector start(float[] out, int at, boolean first) {
    return first ? FloatVector.zero(SPECIES) : FloatVector.fromArray(SPECIES, out, at);
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
