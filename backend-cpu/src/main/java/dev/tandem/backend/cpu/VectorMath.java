package dev.tandem.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
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

  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
  private static final int LANES = SPECIES.length();

  /** Lane i ↔ lane i ^ d, for the halving steps of {@link #sum}; null where d ≥ LANES. */
  private static final VectorShuffle<Float> SWAP_8 = swap(8);

  private static final VectorShuffle<Float> SWAP_4 = swap(4);
  private static final VectorShuffle<Float> SWAP_2 = swap(2);
  private static final VectorShuffle<Float> SWAP_1 = swap(1);

  /** Lanes whose index has bit d set; null where d ≥ LANES. */
  private static final VectorMask<Float> BIT_8 = bit(8);

  private static final VectorMask<Float> BIT_4 = bit(4);
  private static final VectorMask<Float> BIT_2 = bit(2);
  private static final VectorMask<Float> BIT_1 = bit(1);

  /** Where {@link #sum4} leaves its four sums. */
  static final int SUM4_LANE_0 = 0;

  static final int SUM4_LANE_1 = LANES / 2;
  static final int SUM4_LANE_2 = LANES / 4;
  static final int SUM4_LANE_3 = 3 * LANES / 4;

  private VectorMath() {}

  private static VectorShuffle<Float> swap(int d) {
    return d < LANES ? VectorShuffle.fromOp(SPECIES, i -> i ^ d) : null;
  }

  private static VectorMask<Float> bit(int d) {
    boolean[] set = new boolean[LANES];
    for (int i = 0; i < LANES; i++) {
      set[i] = (i & d) != 0;
    }
    return d < LANES ? VectorMask.fromArray(SPECIES, set, 0) : null;
  }

  private static VectorShuffle<Float> swapOf(int d) {
    return switch (d) {
      case 8 -> SWAP_8;
      case 4 -> SWAP_4;
      case 2 -> SWAP_2;
      default -> SWAP_1;
    };
  }

  private static VectorMask<Float> bitOf(int d) {
    return switch (d) {
      case 8 -> BIT_8;
      case 4 -> BIT_4;
      case 2 -> BIT_2;
      default -> BIT_1;
    };
  }

  /**
   * The sum of v's lanes, added in a fixed order: halves pairwise, then their halves. {@code
   * reduceLanes(ADD)} leaves the order unspecified, and it differs between the interpreter and C2:
   * a matrix product's outputs moved by ~1e-7 the moment C2 compiled it, so the same request gave
   * different log-probabilities in a JVM's first run and its later ones. Lanewise adds and
   * rearranges give the same bits however the code runs. (Up to 16 lanes: AVX-512.)
   */
  static float sum(FloatVector v) {
    if (LANES > 8) {
      v = v.add(v.rearrange(SWAP_8));
    }
    if (LANES > 4) {
      v = v.add(v.rearrange(SWAP_4));
    }
    if (LANES > 2) {
      v = v.add(v.rearrange(SWAP_2));
    }
    if (LANES > 1) {
      v = v.add(v.rearrange(SWAP_1));
    }
    return v.lane(0);
  }

  /**
   * The lane sums of four vectors at once, in a fixed order like {@link #sum} and cheaper than four
   * of it: each step adds lane pairs d apart in two vectors and keeps one's result in the lanes
   * with bit d clear, the other's where it is set. Returns a vector with a's sum at lane {@link
   * #SUM4_LANE_0}, b's at {@link #SUM4_LANE_1}, c's at {@link #SUM4_LANE_2}, d's at {@link
   * #SUM4_LANE_3} (4 to 16 lanes).
   */
  static FloatVector sum4(FloatVector a, FloatVector b, FloatVector c, FloatVector d) {
    int half = LANES / 2;
    FloatVector ab = fold(a, b, half);
    FloatVector cd = fold(c, d, half);
    FloatVector v = fold(ab, cd, half / 2);
    for (int step = half / 4; step >= 1; step /= 2) {
      v = v.add(v.rearrange(swapOf(step)));
    }
    return v;
  }

  /** (x + x's lanes d apart) where bit d of the lane index is clear, the same of y where set. */
  private static FloatVector fold(FloatVector x, FloatVector y, int d) {
    VectorShuffle<Float> swap = swapOf(d);
    return x.add(x.rearrange(swap)).blend(y.add(y.rearrange(swap)), bitOf(d));
  }

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
    VectorSpecies<Float> species = FloatVector.SPECIES_PREFERRED;
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
