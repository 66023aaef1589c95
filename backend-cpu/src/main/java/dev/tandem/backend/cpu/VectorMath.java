package dev.tandem.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The transcendental functions of softmax and the activations, a vector at a time, from adds,
 * multiplies, divides, a float-to-int conversion and a shift, which C2 compiles to AVX instructions
 * (the Vector API's lanewise EXP calls a library routine that C2 did not always inline, and then
 * allocated per call). Each is within float32 rounding of the scalar formula it replaces (about
 * 3e-7 relative).
 */
final class VectorMath {

  private static final float LOG2_E = 1.442695f;

  /** ln 2 in two parts (Cody and Waite): whole · LN2_HI is exact, so g keeps x's precision. */
  private static final float LN2_HI = 0.693359375f;

  private static final float LN2_LO = -2.12194440e-4f;
  private static final float LOWEST = -87f;

  /** Adding then subtracting 1.5 · 2^23 rounds a float of magnitude below 2^22 to an integer. */
  private static final float ROUNDER = 12582912f;

  private static final float SQRT_HALF = (float) Math.sqrt(0.5);
  private static final float SQRT_2_OVER_PI = (float) Math.sqrt(2 / Math.PI);

  private VectorMath() {}

  /**
   * e^x lane by lane, for lanes &lt;= 0 (or barely above): 2^n times a degree-6 Taylor polynomial
   * of e^g, where n = round(x log2 e) and |g| &lt;= ln2 / 2. Inputs below -87 (e^-87 ≈ 1.6e-38, the
   * smallest normal float) give about 1.6e-38 instead of a subnormal or 0: irrelevant beside a
   * softmax's largest term, 1, or a GELU's x.
   */
  static FloatVector expNonPositive(FloatVector x) {
    FloatVector clamped = x.max(LOWEST);
    FloatVector whole = clamped.mul(LOG2_E).add(ROUNDER).sub(ROUNDER);
    FloatVector g = whole.fma(-LN2_HI, 0f).add(clamped).add(whole.mul(-LN2_LO));
    FloatVector p = g.fma(1f / 720, 1f / 120);
    p = p.fma(g, constant(g, 1f / 24));
    p = p.fma(g, constant(g, 1f / 6));
    p = p.fma(g, constant(g, 0.5f));
    p = p.fma(g, constant(g, 1f));
    p = p.fma(g, constant(g, 1f));
    FloatVector scale =
        whole
            .convert(VectorOperators.F2I, 0)
            .reinterpretAsInts()
            .add(127)
            .lanewise(VectorOperators.LSHL, 23)
            .reinterpretAsFloats();
    return p.mul(scale);
  }

  /**
   * out[i] = exact GELU of x[i], x/2 · erfc(−x/√2), for i in [from, from + loopBound(to − from)):
   * whole vectors; the caller does the tail. erfc is {@link Elementwise#erfc}'s Chebyshev fit
   * (Numerical Recipes), whose exponent is at most about 0. The loop and the formula share one
   * method so that no vector crosses a call C2 might not inline (it then boxes every vector: 6x
   * slower, measured).
   */
  static int gelu(float[] x, float[] out, int from, int to) {
    VectorSpecies<Float> species = Simd.SPECIES;
    int i = from;
    for (int bound = from + species.loopBound(to - from); i < bound; i += species.length()) {
      FloatVector v = FloatVector.fromArray(species, x, i);
      FloatVector a = v.mul(-SQRT_HALF);
      FloatVector z = a.abs();
      FloatVector t = FloatVector.broadcast(species, 1f).div(z.fma(0.5f, 1f));
      FloatVector p = t.fma(0.17087277f, -0.82215223f);
      p = p.fma(t, FloatVector.broadcast(species, 1.48851587f));
      p = p.fma(t, FloatVector.broadcast(species, -1.13520398f));
      p = p.fma(t, FloatVector.broadcast(species, 0.27886807f));
      p = p.fma(t, FloatVector.broadcast(species, -0.18628806f));
      p = p.fma(t, FloatVector.broadcast(species, 0.09678418f));
      p = p.fma(t, FloatVector.broadcast(species, 0.37409196f));
      p = p.fma(t, FloatVector.broadcast(species, 1.00002368f));
      p = p.fma(t, FloatVector.broadcast(species, -1.26551223f));
      FloatVector r = t.mul(expNonPositive(p.sub(z.mul(z))));
      FloatVector erfc =
          r.blend(FloatVector.broadcast(species, 2f).sub(r), a.compare(VectorOperators.LT, 0f));
      v.mul(0.5f).mul(erfc).intoArray(out, i);
    }
    return i;
  }

  /**
   * GELU's tanh approximation, x/2 · (1 + tanh(y)) with y = √(2/π)(x + 0.044715 x³), written as x ·
   * sigmoid(2y) so that only e^(−|2y|) is needed.
   */
  static FloatVector geluTanh(FloatVector x) {
    FloatVector y = x.mul(x).mul(x).fma(0.044715f, 0f).add(x).mul(2 * SQRT_2_OVER_PI);
    return x.mul(sigmoid(y));
  }

  /** SiLU, x · sigmoid(x). */
  static FloatVector silu(FloatVector x) {
    return x.mul(sigmoid(x));
  }

  /** 1 / (1 + e^−y), from e = e^(−|y|): 1 / (1 + e) for y ≥ 0, e / (1 + e) below. */
  private static FloatVector sigmoid(FloatVector y) {
    FloatVector e = expNonPositive(y.abs().neg());
    FloatVector numerator = constant(y, 1f).blend(e, y.compare(VectorOperators.LT, 0f));
    return numerator.div(e.add(1f));
  }

  private static FloatVector constant(FloatVector like, float value) {
    return FloatVector.broadcast(like.species(), value);
  }
}
