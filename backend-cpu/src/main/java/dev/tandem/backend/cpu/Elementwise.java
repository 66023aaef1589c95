package dev.tandem.backend.cpu;

import dev.tandem.api.backend.Activation;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** Element-wise kernels: add, multiply, scale and the activations, split over the pool. */
final class Elementwise {

  private static final VectorSpecies<Float> SPECIES = Simd.SPECIES;
  private static final int LANES = SPECIES.length();

  /** Elements per thread below which one thread is faster (memory-bound, microsecond work). */
  private static final int MIN_PER_THREAD = 1 << 15;

  private static final double SQRT_HALF = Math.sqrt(0.5);
  private static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

  private final WorkerPool pool;

  Elementwise(WorkerPool pool) {
    this.pool = pool;
  }

  void add(float[] a, float[] b, int count, float[] out) {
    pool.forRange(
        count,
        MIN_PER_THREAD,
        (worker, start, end) -> {
          int i = start;
          for (int bound = start + SPECIES.loopBound(end - start); i < bound; i += LANES) {
            FloatVector.fromArray(SPECIES, a, i)
                .add(FloatVector.fromArray(SPECIES, b, i))
                .intoArray(out, i);
          }
          for (; i < end; i++) {
            out[i] = a[i] + b[i];
          }
        });
  }

  void multiply(float[] a, float[] b, int count, float[] out) {
    pool.forRange(
        count,
        MIN_PER_THREAD,
        (worker, start, end) -> {
          int i = start;
          for (int bound = start + SPECIES.loopBound(end - start); i < bound; i += LANES) {
            FloatVector.fromArray(SPECIES, a, i)
                .mul(FloatVector.fromArray(SPECIES, b, i))
                .intoArray(out, i);
          }
          for (; i < end; i++) {
            out[i] = a[i] * b[i];
          }
        });
  }

  void scale(float[] x, float factor, int count, float[] out) {
    pool.forRange(
        count,
        MIN_PER_THREAD,
        (worker, start, end) -> {
          int i = start;
          for (int bound = start + SPECIES.loopBound(end - start); i < bound; i += LANES) {
            FloatVector.fromArray(SPECIES, x, i).mul(factor).intoArray(out, i);
          }
          for (; i < end; i++) {
            out[i] = x[i] * factor;
          }
        });
  }

  void activation(Activation kind, float[] x, int count, float[] out) {
    // The kind is resolved here, once per call; each loop body is then a single formula.
    WorkerPool.RangeTask task =
        switch (kind) {
          case RELU ->
              (worker, start, end) -> {
                int i = start;
                for (int bound = start + SPECIES.loopBound(end - start); i < bound; i += LANES) {
                  FloatVector.fromArray(SPECIES, x, i).max(0f).intoArray(out, i);
                }
                for (; i < end; i++) {
                  out[i] = Math.max(x[i], 0f);
                }
              };
          case GELU ->
              (worker, start, end) -> {
                for (int i = VectorMath.gelu(x, out, start, end); i < end; i++) {
                  out[i] = (float) gelu(x[i]);
                }
              };
          case GELU_TANH ->
              (worker, start, end) -> {
                int i = start;
                for (int bound = start + SPECIES.loopBound(end - start); i < bound; i += LANES) {
                  VectorMath.geluTanh(FloatVector.fromArray(SPECIES, x, i)).intoArray(out, i);
                }
                for (; i < end; i++) {
                  double v = x[i];
                  out[i] =
                      (float)
                          (0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v))));
                }
              };
          case SILU ->
              (worker, start, end) -> {
                int i = start;
                for (int bound = start + SPECIES.loopBound(end - start); i < bound; i += LANES) {
                  VectorMath.silu(FloatVector.fromArray(SPECIES, x, i)).intoArray(out, i);
                }
                for (; i < end; i++) {
                  double v = x[i];
                  out[i] = (float) (v / (1 + Math.exp(-v)));
                }
              };
        };
    // Transcendental activations cost a few ns per element, so they split earlier.
    pool.forRange(count, kind == Activation.RELU ? MIN_PER_THREAD : 1 << 11, task);
  }

  /**
   * Exact GELU, x · Φ(x) = x/2 · erfc(−x/√2), through erfc so the negative tail keeps its digits.
   */
  static double gelu(double x) {
    return 0.5 * x * erfc(-x * SQRT_HALF);
  }

  /**
   * Complementary error function with relative error below 1.2e-7 everywhere (Chebyshev fit from
   * Numerical Recipes, 2nd ed., §6.2): float32-level accuracy, also deep in the tail where 1 −
   * erf(x) would cancel.
   */
  static double erfc(double x) {
    double z = Math.abs(x);
    double t = 1 / (1 + 0.5 * z);
    double r =
        t
            * Math.exp(
                -z * z
                    - 1.26551223
                    + t
                        * (1.00002368
                            + t
                                * (0.37409196
                                    + t
                                        * (0.09678418
                                            + t
                                                * (-0.18628806
                                                    + t
                                                        * (0.27886807
                                                            + t
                                                                * (-1.13520398
                                                                    + t
                                                                        * (1.48851587
                                                                            + t
                                                                                * (-0.82215223
                                                                                    + t
                                                                                        * 0.17087277)))))))));
    return x >= 0 ? r : 2 - r;
  }
}
