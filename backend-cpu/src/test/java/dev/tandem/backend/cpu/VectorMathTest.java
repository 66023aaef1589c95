package dev.tandem.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

class VectorMathTest {

  private static final VectorSpecies<Float> SPECIES = Simd.SPECIES;

  @Test
  void matchesMathExpOverTheNonPositiveFloats() {
    int lanes = SPECIES.length();
    float[] x = new float[lanes];
    float[] y = new float[lanes];
    double worst = 0;
    // Every 997th float bit pattern from -87 up to -0 (0x80000000): all exponents, many mantissas.
    int n = 0;
    for (long bits = Float.floatToRawIntBits(-87f); bits > Integer.MIN_VALUE; bits -= 997) {
      x[n++] = Float.intBitsToFloat((int) bits);
      if (n == lanes) {
        VectorMath.expNonPositive(FloatVector.fromArray(SPECIES, x, 0)).intoArray(y, 0);
        for (int i = 0; i < lanes; i++) {
          double expected = Math.exp(x[i]);
          worst = Math.max(worst, Math.abs(y[i] - expected) / expected);
        }
        n = 0;
      }
    }
    assertTrue(worst < 3e-7, "worst relative error " + worst);
  }

  /** Worst error relative to max(|f(x)|, 1e-6) over [-12, 12], where the models' inputs lie. */
  private static double worstActivationError(
      java.util.function.UnaryOperator<FloatVector> vector,
      java.util.function.DoubleUnaryOperator reference) {
    int lanes = SPECIES.length();
    float[] x = new float[lanes];
    float[] y = new float[lanes];
    double worst = 0;
    for (int start = 0; start < 240_000; start += lanes) {
      for (int i = 0; i < lanes; i++) {
        x[i] = -12f + (start + i) * 1e-4f;
      }
      vector.apply(FloatVector.fromArray(SPECIES, x, 0)).intoArray(y, 0);
      for (int i = 0; i < lanes; i++) {
        double expected = reference.applyAsDouble(x[i]);
        worst = Math.max(worst, Math.abs(y[i] - expected) / Math.max(Math.abs(expected), 1e-6));
      }
    }
    return worst;
  }

  @Test
  void activationsMatchTheirDoublePrecisionDefinitions() {
    double gelu =
        worstActivationError(
            v -> {
              float[] in = new float[SPECIES.length()];
              float[] out = new float[in.length];
              v.intoArray(in, 0);
              VectorMath.gelu(in, out, 0, in.length);
              return FloatVector.fromArray(SPECIES, out, 0);
            },
            ScalarReference::gelu);
    double geluTanh = worstActivationError(VectorMath::geluTanh, ScalarReference::geluTanh);
    double silu = worstActivationError(VectorMath::silu, ScalarReference::silu);
    // GELU's negative tail is steep: rounding −x/√2 to float alone costs up to ~2e-6 relative there
    // (where |GELU| is about 1e-6, so 1e-12 absolute).
    assertTrue(gelu < 5e-6, "gelu " + gelu);
    assertTrue(geluTanh < 2e-6, "gelu_tanh " + geluTanh);
    assertTrue(silu < 2e-6, "silu " + silu);
  }

  @Test
  void edgeValues() {
    float[] x = new float[SPECIES.length()];
    float[] y = new float[x.length];
    x[0] = 0f;
    x[1] = -0f;
    x[2] = Float.NEGATIVE_INFINITY;
    x[3] = -1000f;
    VectorMath.expNonPositive(FloatVector.fromArray(SPECIES, x, 0)).intoArray(y, 0);
    assertEquals(1f, y[0]);
    assertEquals(1f, y[1]);
    assertTrue(y[2] >= 0 && y[2] < 2e-38, "exp(-inf) = " + y[2]);
    assertTrue(y[3] >= 0 && y[3] < 2e-38, "exp(-1000) = " + y[3]);
  }
}
