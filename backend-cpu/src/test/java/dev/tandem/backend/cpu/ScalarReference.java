package dev.tandem.backend.cpu;

import java.util.Random;

/** Plain scalar references (naive loops, double accumulation) and comparison helpers. */
final class ScalarReference {

  private ScalarReference() {}

  static float[] random(Random random, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) (random.nextGaussian());
    }
    return a;
  }

  /** ‖out − ref‖ / ‖ref‖ over the first {@code n} values. */
  static double relativeError(float[] out, double[] ref) {
    double diff = 0;
    double norm = 0;
    for (int i = 0; i < ref.length; i++) {
      diff += (out[i] - ref[i]) * (out[i] - ref[i]);
      norm += ref[i] * ref[i];
    }
    return norm == 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
  }

  static double[] linear(float[] x, int m, int k, float[] w, float[] bias, int n) {
    double[] y = new double[m * n];
    for (int r = 0; r < m; r++) {
      for (int c = 0; c < n; c++) {
        double s = bias == null ? 0 : bias[c];
        for (int i = 0; i < k; i++) {
          s += (double) x[r * k + i] * w[c * k + i];
        }
        y[r * n + c] = s;
      }
    }
    return y;
  }

  /** erf by its Taylor series (|x| ≤ 3) or erfc's continued fraction (beyond), in double. */
  static double erf(double x) {
    double z = Math.abs(x);
    double result;
    if (z <= 3) {
      double term = z;
      double sum = z;
      for (int n = 1; n < 200; n++) {
        term *= -z * z / n;
        sum += term / (2 * n + 1);
      }
      result = 2 / Math.sqrt(Math.PI) * sum;
    } else {
      result = 1 - erfcLarge(z);
    }
    return Math.signum(x) * result;
  }

  /** erfc(z) for z > 3: exp(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + ...)))). */
  static double erfcLarge(double z) {
    double fraction = z;
    for (int n = 80; n >= 1; n--) {
      fraction = z + (n / 2.0) / fraction;
    }
    return Math.exp(-z * z) / Math.sqrt(Math.PI) / fraction;
  }

  static double gelu(double x) {
    if (x < -3 * Math.sqrt(2)) {
      return 0.5 * x * erfcLarge(-x / Math.sqrt(2)); // keeps the tail's digits
    }
    return 0.5 * x * (1 + erf(x / Math.sqrt(2)));
  }

  static double geluTanh(double x) {
    return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
  }

  static double silu(double x) {
    return x / (1 + Math.exp(-x));
  }

  static double[] rmsNorm(float[] x, int n, int dim, float[] weight, double eps) {
    double[] out = new double[n * dim];
    for (int r = 0; r < n; r++) {
      double sq = 0;
      for (int i = 0; i < dim; i++) {
        sq += (double) x[r * dim + i] * x[r * dim + i];
      }
      double inv = 1 / Math.sqrt(sq / dim + eps);
      for (int i = 0; i < dim; i++) {
        out[r * dim + i] = x[r * dim + i] * inv * weight[i];
      }
    }
    return out;
  }

  static double[] layerNorm(float[] x, int n, int dim, float[] weight, float[] bias, double eps) {
    double[] out = new double[n * dim];
    for (int r = 0; r < n; r++) {
      double mean = 0;
      for (int i = 0; i < dim; i++) {
        mean += x[r * dim + i];
      }
      mean /= dim;
      double var = 0;
      for (int i = 0; i < dim; i++) {
        double d = x[r * dim + i] - mean;
        var += d * d;
      }
      var /= dim;
      double inv = 1 / Math.sqrt(var + eps);
      for (int i = 0; i < dim; i++) {
        out[r * dim + i] = (x[r * dim + i] - mean) * inv * weight[i] + bias[i];
      }
    }
    return out;
  }

  /**
   * Unpaged attention of one query row over explicit key/value rows (keys[j] is a full row of
   * numHeads·headDim), softmax in double; {@code bias[h][j]} or null.
   */
  static double[] attend(
      float[] q,
      float[][] keys,
      float[][] values,
      int numHeads,
      int headDim,
      double scale,
      double[][] bias) {
    double[] out = new double[numHeads * headDim];
    int n = keys.length;
    for (int h = 0; h < numHeads; h++) {
      double[] s = new double[n];
      double max = Double.NEGATIVE_INFINITY;
      for (int j = 0; j < n; j++) {
        double dot = 0;
        for (int d = 0; d < headDim; d++) {
          dot += (double) q[h * headDim + d] * keys[j][h * headDim + d];
        }
        s[j] = dot * scale + (bias == null ? 0 : bias[h][j]);
        max = Math.max(max, s[j]);
      }
      double sum = 0;
      for (int j = 0; j < n; j++) {
        s[j] = Math.exp(s[j] - max);
        sum += s[j];
      }
      for (int j = 0; j < n; j++) {
        for (int d = 0; d < headDim; d++) {
          out[h * headDim + d] += s[j] / sum * values[j][h * headDim + d];
        }
      }
    }
    return out;
  }
}
