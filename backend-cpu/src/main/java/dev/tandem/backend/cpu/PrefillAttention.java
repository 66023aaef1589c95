package dev.tandem.backend.cpu;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Attention over contiguous keys when sequences have many queries (encoder and decoder prompts at
 * prefill): one task per (sequence, head) computes the scores and the weighted sums of blocks of
 * {@link #QUERIES} queries as small matrix products. The head's keys are first transposed to
 * (headDim, keys), so that a vector holds one dimension of {@code LANES} consecutive keys and a
 * score needs no horizontal sum; a value row slice is loaded once for the whole query block. The
 * per-query path ({@link Attention}) loads a key row per dot product and sums its lanes: prefill
 * attention ran at about a tenth of the GEMM's rate there.
 */
final class PrefillAttention {

  private static final VectorSpecies<Float> SPECIES = Simd.SPECIES;
  private static final int LANES = SPECIES.length();

  /** Queries per block: 4 × 2 accumulator vectors plus the loads fit AVX2's 16 registers. */
  private static final int QUERIES = 4;

  /** Keys per score block and dimensions per output slice: two vectors. */
  private static final int WIDTH = 2 * LANES;

  private final WorkerPool pool;
  private final float[][] transposed; // (worker) -> (headDim, padded keys)
  private final float[][] weights; // (worker) -> (QUERIES, padded keys): scores, then softmax

  PrefillAttention(WorkerPool pool) {
    this.pool = pool;
    this.transposed = new float[pool.threads()][];
    this.weights = new float[pool.threads()][];
  }

  /**
   * Whether this path takes the plan: contiguous keys, a head size of whole output slices, and on
   * average at least two query blocks a sequence (a single query would pay for the transpose).
   */
  static boolean takes(AttentionPlan plan) {
    return !plan.paged()
        && plan.headDim() % WIDTH == 0
        && plan.numQueries() >= 2 * QUERIES * plan.numSequences();
  }

  /** As {@link Attention#run}, for a plan this path {@link #takes}. */
  void run(AttentionPlan plan, float[] q, float[] out, float[] biasByDistance) {
    int padded = padded(plan.maxKeys());
    for (int w = 0; w < transposed.length; w++) {
      if (transposed[w] == null || transposed[w].length < plan.headDim() * padded) {
        transposed[w] = new float[plan.headDim() * padded];
        weights[w] = new float[QUERIES * padded];
      }
    }
    int heads = plan.numHeads();
    pool.forRange(
        plan.numSequences() * heads,
        1,
        (worker, start, end) -> {
          for (int task = start; task < end; task++) {
            attendHead(
                plan,
                task / heads,
                task % heads,
                q,
                out,
                biasByDistance,
                transposed[worker],
                weights[worker]);
          }
        });
  }

  private static int padded(int keys) {
    return (keys + WIDTH - 1) / WIDTH * WIDTH;
  }

  /** Head h of every query of sequence s. */
  private static void attendHead(
      AttentionPlan plan,
      int s,
      int h,
      float[] q,
      float[] out,
      float[] biasByDistance,
      float[] kt,
      float[] p) {
    int headDim = plan.headDim();
    int stride = plan.rowStride();
    int keys = plan.keyCount(s);
    int firstQuery = plan.queryStart(s);
    int queries = plan.queryCount(s);
    if (keys == 0) {
      for (int i = 0; i < queries; i++) {
        int o = (firstQuery + i) * stride + h * headDim;
        Arrays.fill(out, o, o + headDim, 0f); // no keys: zeros, not NaN
      }
      return;
    }
    int padded = padded(keys);
    transpose(
        plan.keys(), plan.keyStart(s) * stride + h * headDim, stride, keys, headDim, kt, padded);
    int span = plan.maxKeys();
    int biasBase = biasByDistance == null ? 0 : h * plan.distanceSpan() + span - 1;
    for (int b = 0; b < queries; b += QUERIES) {
      int rows = Math.min(QUERIES, queries - b);
      int query = firstQuery + b;
      int seen = plan.keysSeen(query + rows - 1); // the block's last query sees the most
      int width = padded(seen);
      scores(q, query * stride + h * headDim, stride, rows, headDim, kt, padded, width, p);
      for (int r = 0; r < rows; r++) {
        int count = plan.keysSeen(query + r);
        Attention.probabilities(
            p,
            r * padded,
            count,
            plan.scale(),
            biasByDistance,
            biasBase - plan.queryPosition(query + r));
        Arrays.fill(p, r * padded + count, r * padded + width, 0f);
      }
      weightedSums(
          p,
          padded,
          rows,
          seen,
          plan.values(),
          plan.keyStart(s) * stride + h * headDim,
          stride,
          headDim,
          out,
          query * stride + h * headDim);
    }
  }

  /** kt(headDim, padded) = the keys' head slice, transposed; keys past {@code keys} are 0. */
  private static void transpose(
      float[] k, int first, int stride, int keys, int headDim, float[] kt, int padded) {
    for (int j = 0; j < keys; j++) {
      int row = first + j * stride;
      for (int d = 0; d < headDim; d++) {
        kt[d * padded + j] = k[row + d];
      }
    }
    for (int d = 0; d < headDim; d++) {
      Arrays.fill(kt, d * padded + keys, (d + 1) * padded, 0f);
    }
  }

  /**
   * p(rows, keys [0, width)) at a row stride of {@code padded} = q rows · kt: per block of WIDTH
   * keys, QUERIES × 2 accumulators over the head's dimensions. Rows past {@code rows} repeat the
   * last query and are not stored.
   */
  private static void scores(
      float[] q,
      int q0,
      int stride,
      int rows,
      int headDim,
      float[] kt,
      int padded,
      int width,
      float[] p) {
    int r1 = q0 + Math.min(1, rows - 1) * stride;
    int r2 = q0 + Math.min(2, rows - 1) * stride;
    int r3 = q0 + Math.min(3, rows - 1) * stride;
    for (int j = 0; j < width; j += WIDTH) {
      FloatVector a00 = FloatVector.zero(SPECIES);
      FloatVector a01 = a00;
      FloatVector a10 = a00;
      FloatVector a11 = a00;
      FloatVector a20 = a00;
      FloatVector a21 = a00;
      FloatVector a30 = a00;
      FloatVector a31 = a00;
      for (int d = 0; d < headDim; d++) {
        FloatVector k0 = FloatVector.fromArray(SPECIES, kt, d * padded + j);
        FloatVector k1 = FloatVector.fromArray(SPECIES, kt, d * padded + j + LANES);
        FloatVector x = FloatVector.broadcast(SPECIES, q[q0 + d]);
        a00 = k0.fma(x, a00);
        a01 = k1.fma(x, a01);
        x = FloatVector.broadcast(SPECIES, q[r1 + d]);
        a10 = k0.fma(x, a10);
        a11 = k1.fma(x, a11);
        x = FloatVector.broadcast(SPECIES, q[r2 + d]);
        a20 = k0.fma(x, a20);
        a21 = k1.fma(x, a21);
        x = FloatVector.broadcast(SPECIES, q[r3 + d]);
        a30 = k0.fma(x, a30);
        a31 = k1.fma(x, a31);
      }
      a00.intoArray(p, j);
      a01.intoArray(p, j + LANES);
      if (rows > 1) {
        a10.intoArray(p, padded + j);
        a11.intoArray(p, padded + j + LANES);
      }
      if (rows > 2) {
        a20.intoArray(p, 2 * padded + j);
        a21.intoArray(p, 2 * padded + j + LANES);
      }
      if (rows > 3) {
        a30.intoArray(p, 3 * padded + j);
        a31.intoArray(p, 3 * padded + j + LANES);
      }
    }
  }

  /**
   * out rows (at o0, row stride {@code stride}) = p(rows, keys) · v over the head's slice, WIDTH
   * dimensions at a time: each value row slice is loaded once for the block's queries, the keys
   * added in order.
   */
  private static void weightedSums(
      float[] p,
      int padded,
      int rows,
      int keys,
      float[] v,
      int v0,
      int stride,
      int headDim,
      float[] out,
      int o0) {
    int p1 = Math.min(1, rows - 1) * padded;
    int p2 = Math.min(2, rows - 1) * padded;
    int p3 = Math.min(3, rows - 1) * padded;
    for (int i = 0; i < headDim; i += WIDTH) {
      FloatVector a00 = FloatVector.zero(SPECIES);
      FloatVector a01 = a00;
      FloatVector a10 = a00;
      FloatVector a11 = a00;
      FloatVector a20 = a00;
      FloatVector a21 = a00;
      FloatVector a30 = a00;
      FloatVector a31 = a00;
      for (int j = 0; j < keys; j++) {
        int row = v0 + j * stride + i;
        FloatVector x0 = FloatVector.fromArray(SPECIES, v, row);
        FloatVector x1 = FloatVector.fromArray(SPECIES, v, row + LANES);
        FloatVector w = FloatVector.broadcast(SPECIES, p[j]);
        a00 = x0.fma(w, a00);
        a01 = x1.fma(w, a01);
        w = FloatVector.broadcast(SPECIES, p[p1 + j]);
        a10 = x0.fma(w, a10);
        a11 = x1.fma(w, a11);
        w = FloatVector.broadcast(SPECIES, p[p2 + j]);
        a20 = x0.fma(w, a20);
        a21 = x1.fma(w, a21);
        w = FloatVector.broadcast(SPECIES, p[p3 + j]);
        a30 = x0.fma(w, a30);
        a31 = x1.fma(w, a31);
      }
      a00.intoArray(out, o0 + i);
      a01.intoArray(out, o0 + i + LANES);
      if (rows > 1) {
        a10.intoArray(out, o0 + stride + i);
        a11.intoArray(out, o0 + stride + i + LANES);
      }
      if (rows > 2) {
        a20.intoArray(out, o0 + 2 * stride + i);
        a21.intoArray(out, o0 + 2 * stride + i + LANES);
      }
      if (rows > 3) {
        a30.intoArray(out, o0 + 3 * stride + i);
        a31.intoArray(out, o0 + 3 * stride + i + LANES);
      }
    }
  }
}
