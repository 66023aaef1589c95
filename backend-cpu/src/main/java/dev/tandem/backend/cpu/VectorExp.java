package dev.tandem.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * e^x for x &lt;= 0, a vector at a time, within 2e-7 relative of Math.exp: 2^n times a degree-6
 * Taylor polynomial of e^g, where n = round(x log2 e) and |g| &lt;= ln2 / 2. Only adds, multiplies,
 * a float-to-int conversion and a shift, which C2 compiles to AVX instructions (the Vector API's
 * lanewise EXP calls a library routine that C2 did not always inline, and then allocated per call).
 * Inputs below -87 (e^-87 ≈ 1.6e-38, the smallest normal float) give about 1.6e-38 instead of a
 * subnormal or 0: irrelevant beside the softmax's largest term, 1.
 */
final class VectorExp {

  private static final float LOG2_E = 1.442695f;

  /** ln 2 in two parts (Cody and Waite): whole · LN2_HI is exact, so g keeps x's precision. */
  private static final float LN2_HI = 0.693359375f;

  private static final float LN2_LO = -2.12194440e-4f;
  private static final float LOWEST = -87f;

  /** Adding then subtracting 1.5 · 2^23 rounds a float of magnitude below 2^22 to an integer. */
  private static final float ROUNDER = 12582912f;

  private VectorExp() {}

  /** e^x lane by lane, for lanes &lt;= 0. */
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

  private static FloatVector constant(FloatVector like, float value) {
    return FloatVector.broadcast(like.species(), value);
  }
}
