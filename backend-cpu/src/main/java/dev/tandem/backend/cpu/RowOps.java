package dev.tandem.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Row-wise kernels over (n, dim) matrices: embedding gather, RMS and layer norm, greedy choice. */
final class RowOps {

  private static final VectorSpecies<Float> SPECIES = Simd.SPECIES;
  private static final int LANES = SPECIES.length();

  /** Floats summed in vector lanes before the partial sum goes to a double. */
  private static final int SUM_CHUNK = 512;

  /** Values per thread below which one thread is faster. */
  private static final int MIN_VALUES_PER_THREAD = 1 << 14;

  private final WorkerPool pool;

  RowOps(WorkerPool pool) {
    this.pool = pool;
  }

  private int minRows(int dim) {
    return Math.max(1, MIN_VALUES_PER_THREAD / Math.max(1, dim));
  }

  /** out(n, dim) = table[ids[i]] * scale. */
  void embedding(int[] ids, int n, float[] table, int dim, float scale, float[] out) {
    long rows = table.length / dim;
    for (int i = 0; i < n; i++) {
      if (ids[i] < 0 || ids[i] >= rows) {
        throw new IllegalArgumentException(
            "cpu: embedding id "
                + ids[i]
                + " at position "
                + i
                + " outside table rows 0.."
                + (rows - 1));
      }
    }
    pool.forRange(
        n,
        minRows(dim),
        (worker, start, end) -> {
          for (int r = start; r < end; r++) {
            int src = ids[r] * dim;
            int dst = r * dim;
            if (scale == 1f) {
              System.arraycopy(table, src, out, dst, dim);
            } else {
              scaleRow(table, src, scale, out, dst, dim);
            }
          }
        });
  }

  private static void scaleRow(float[] src, int from, float factor, float[] dst, int to, int dim) {
    int i = 0;
    for (int bound = SPECIES.loopBound(dim); i < bound; i += LANES) {
      FloatVector.fromArray(SPECIES, src, from + i).mul(factor).intoArray(dst, to + i);
    }
    for (; i < dim; i++) {
      dst[to + i] = src[from + i] * factor;
    }
  }

  /**
   * T5 LayerNorm: out = x / sqrt(mean(x²) + eps) * weight; with delta (else null), x += delta first
   * in the same pass over the rows (the residual add before the norm).
   */
  void rmsNorm(float[] x, float[] delta, int n, int dim, float[] weight, float eps, float[] out) {
    pool.forRange(
        n,
        minRows(dim),
        (worker, start, end) -> {
          for (int r = start; r < end; r++) {
            int base = r * dim;
            if (delta != null) {
              addRow(x, delta, base, dim);
            }
            float inv = (float) (1 / Math.sqrt(sumOfSquares(x, base, dim, 0f) / dim + eps));
            normalizeRow(x, base, dim, 0f, inv, weight, null, out);
          }
        });
  }

  /** out = (x − mean) / sqrt(var + eps) * weight + bias; with delta, x += delta first. */
  void layerNorm(
      float[] x,
      float[] delta,
      int n,
      int dim,
      float[] weight,
      float[] bias,
      float eps,
      float[] out) {
    pool.forRange(
        n,
        minRows(dim),
        (worker, start, end) -> {
          for (int r = start; r < end; r++) {
            int base = r * dim;
            if (delta != null) {
              addRow(x, delta, base, dim);
            }
            float mean = sum(x, base, dim) / dim;
            // Two passes (mean, then squared deviations) avoid E[x²] − E[x]² cancellation.
            float variance = sumOfSquares(x, base, dim, mean) / dim;
            float inv = (float) (1 / Math.sqrt(variance + eps));
            normalizeRow(x, base, dim, mean, inv, weight, bias, out);
          }
        });
  }

  /** x[base, base + dim) += delta[base, base + dim). */
  private static void addRow(float[] x, float[] delta, int base, int dim) {
    int i = 0;
    for (int bound = SPECIES.loopBound(dim); i < bound; i += LANES) {
      FloatVector.fromArray(SPECIES, x, base + i)
          .add(FloatVector.fromArray(SPECIES, delta, base + i))
          .intoArray(x, base + i);
    }
    for (; i < dim; i++) {
      x[base + i] += delta[base + i];
    }
  }

  private static float sum(float[] x, int base, int dim) {
    FloatVector acc = FloatVector.zero(SPECIES);
    int i = 0;
    for (int bound = SPECIES.loopBound(dim); i < bound; i += LANES) {
      acc = acc.add(FloatVector.fromArray(SPECIES, x, base + i));
    }
    float s = acc.reduceLanes(VectorOperators.ADD);
    for (; i < dim; i++) {
      s += x[base + i];
    }
    return s;
  }

  /** Σ (x − center)². */
  private static float sumOfSquares(float[] x, int base, int dim, float center) {
    FloatVector acc = FloatVector.zero(SPECIES);
    int i = 0;
    for (int bound = SPECIES.loopBound(dim); i < bound; i += LANES) {
      FloatVector d = FloatVector.fromArray(SPECIES, x, base + i).sub(center);
      acc = d.fma(d, acc);
    }
    float s = acc.reduceLanes(VectorOperators.ADD);
    for (; i < dim; i++) {
      float d = x[base + i] - center;
      s += d * d;
    }
    return s;
  }

  /** out = (x − center) * inv * weight (+ bias). */
  private static void normalizeRow(
      float[] x,
      int base,
      int dim,
      float center,
      float inv,
      float[] weight,
      float[] bias,
      float[] out) {
    int i = 0;
    for (int bound = SPECIES.loopBound(dim); i < bound; i += LANES) {
      FloatVector v =
          FloatVector.fromArray(SPECIES, x, base + i)
              .sub(center)
              .mul(inv)
              .mul(FloatVector.fromArray(SPECIES, weight, i));
      if (bias != null) {
        v = v.add(FloatVector.fromArray(SPECIES, bias, i));
      }
      v.intoArray(out, base + i);
    }
    for (; i < dim; i++) {
      float v = (x[base + i] - center) * inv * weight[i];
      out[base + i] = bias == null ? v : v + bias[i];
    }
  }

  /**
   * ids[i] = the first index of the largest value in row i, logprobs[i] = its log-softmax: max −
   * log Σ exp(row − max), the sum in vectors of exp(x) for x ≤ 0 and then in double.
   */
  void greedy(float[] logits, int n, int vocab, int[] ids, float[] logprobs) {
    pool.forRange(
        n,
        minRows(vocab),
        (worker, start, end) -> {
          for (int r = start; r < end; r++) {
            int base = r * vocab;
            int best = 0;
            float max = logits[base];
            for (int i = 1; i < vocab; i++) {
              if (logits[base + i] > max) {
                max = logits[base + i];
                best = i;
              }
            }
            ids[r] = best;
            logprobs[r] = (float) -Math.log(sumExp(logits, base, vocab, max));
          }
        });
  }

  /**
   * Σ exp(x[base + i] − max) over i < vocab, for max the row's largest value: float lanes over
   * chunks of {@link #SUM_CHUNK}, added up in double (a whole vocabulary in float lanes would lose
   * ~1e-6).
   */
  private static double sumExp(float[] x, int base, int vocab, float max) {
    double sum = 0;
    int i = 0;
    while (i <= vocab - LANES) {
      FloatVector sums = FloatVector.zero(SPECIES);
      int chunkEnd = Math.min(vocab - LANES, i + SUM_CHUNK - LANES);
      for (; i <= chunkEnd; i += LANES) {
        FloatVector v = FloatVector.fromArray(SPECIES, x, base + i).sub(max);
        sums = sums.add(VectorMath.expNonPositive(v));
      }
      sum += sums.reduceLanes(VectorOperators.ADD);
    }
    for (; i < vocab; i++) {
      sum += Math.exp(x[base + i] - max);
    }
    return sum;
  }
}
