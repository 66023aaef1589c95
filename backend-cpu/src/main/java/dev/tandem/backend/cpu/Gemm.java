package dev.tandem.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * y(m, n) = x(m, k) · w(n, k)ᵀ + bias(n), all row-major: the layout of HuggingFace's nn.Linear,
 * where both x rows and w rows run along k. Three kernels by the number of rows: from {@link
 * #PACKED_MIN_ROWS} rows on (prefill) {@link PackedGemm}, which packs w; from {@link
 * #SKINNY_MIN_ROWS} (decode batches) {@link SkinnyGemm}, which packs x; below that (decode of a few
 * sequences) every output is a dot product of two contiguous rows and the bound is reading w, so no
 * packing: a register tile of {@value #TILE_ROWS} x rows by {@value #TILE_COLS} w rows keeps
 * {@value #TILE_ROWS}×{@value #TILE_COLS} vector accumulators and reads each loaded vector for
 * several FMAs. Threads split the n outputs (the rows of w).
 */
final class Gemm {

  private static final VectorSpecies<Float> SPECIES = Simd.SPECIES;
  private static final int LANES = SPECIES.length();

  /** x rows per register tile: 4 x vectors are loaded per k step and reused for every w row. */
  static final int TILE_ROWS = 4;

  /** w rows per register tile: 4×2 = 8 accumulators cover the FMA latency (4) × units (2). */
  static final int TILE_COLS = 2;

  /** k values per pass: 4 x rows of 512 floats (8 KiB) stay in L1 while w streams from L2. */
  private static final int K_BLOCK = 512;

  /** w rows per cache block: 128 × 512 floats = 256 KiB, half of a 512 KiB L2. */
  private static final int N_BLOCK = 128;

  /** Outputs per thread below which splitting costs more than it saves. */
  private static final int MIN_COLS_PER_THREAD = 16;

  /**
   * Rows from which packing w pays for itself: packing costs a pass over w per call, which the
   * faster kernel repays only over enough rows (measured per CPU-second on 2 Zen 3 cores: at 64
   * rows SkinnyGemm ran 1.2–1.6x faster, at 256 rows PackedGemm 1.05–1.7x except for the 32128-wide
   * LM head; at 128 and 192 rows SkinnyGemm won 13 of 16 timings, and a t5-small B = 1 prefill, 128
   * rows, took 106–182 ms against 122–174 ms with PackedGemm, median 121 against 148).
   */
  static final int PACKED_MIN_ROWS = 256;

  /**
   * Rows from which SkinnyGemm's 16-row x panels are full enough (measured: at 8 rows the
   * dot-product tile was faster on three of four t5-small shapes, at 12 rows SkinnyGemm on all
   * four, 1.0–1.3x; at 32 rows 1.4–2.3x).
   */
  static final int SKINNY_MIN_ROWS = 12;

  private final WorkerPool pool;
  private final PackedGemm packed;
  private final SkinnyGemm skinny;

  Gemm(WorkerPool pool) {
    this.pool = pool;
    this.packed = new PackedGemm(pool);
    this.skinny = new SkinnyGemm(pool);
  }

  void multiply(float[] x, int m, int k, float[] w, float[] bias, int n, float[] y) {
    if (m >= PACKED_MIN_ROWS) {
      packed.multiply(x, m, k, w, bias, n, y);
      return;
    }
    if (m >= SKINNY_MIN_ROWS) {
      skinny.multiply(x, m, k, w, bias, n, y);
      return;
    }
    int tiles = (n + TILE_COLS - 1) / TILE_COLS;
    pool.forRange(
        tiles,
        MIN_COLS_PER_THREAD / TILE_COLS,
        (worker, start, end) ->
            columns(x, m, k, w, bias, start * TILE_COLS, Math.min(n, end * TILE_COLS), n, y));
  }

  /** Outputs [n0, n1) of every row, blocked so the w block stays in L2 across the row tiles. */
  private static void columns(
      float[] x, int m, int k, float[] w, float[] bias, int n0, int n1, int n, float[] y) {
    // Below a full row tile (decode) x is a few KiB that stays in L1 anyway; blocking k would only
    // read each w row in pieces, pass after pass over all of w.
    int kBlock = m < TILE_ROWS ? k : K_BLOCK;
    for (int k0 = 0; k0 < k; k0 += kBlock) {
      int k1 = Math.min(k, k0 + kBlock);
      boolean first = k0 == 0;
      for (int nb = n0; nb < n1; nb += N_BLOCK) {
        int nbEnd = Math.min(n1, nb + N_BLOCK);
        int row = 0;
        for (; row + TILE_ROWS <= m; row += TILE_ROWS) {
          int col = nb;
          for (; col + TILE_COLS <= nbEnd; col += TILE_COLS) {
            tile4x2(x, row, k, w, col, k0, k1, n, y, first);
          }
          for (; col < nbEnd; col++) {
            for (int r = row; r < row + TILE_ROWS; r++) {
              single(x, r, k, w, col, k0, k1, n, y, first);
            }
          }
        }
        // Remaining rows (all of them when m < 4, e.g. decode): one x row against 4 w rows.
        for (; row < m; row++) {
          int col = nb;
          for (; col + 4 <= nbEnd; col += 4) {
            tile1x4(x, row, k, w, col, k0, k1, n, y, first);
          }
          for (; col < nbEnd; col++) {
            single(x, row, k, w, col, k0, k1, n, y, first);
          }
        }
      }
    }
    if (bias != null) {
      for (int row = 0; row < m; row++) {
        int base = row * n;
        for (int col = n0; col < n1; col++) {
          y[base + col] += bias[col];
        }
      }
    }
  }

  private static void store(float[] y, int index, float value, boolean first) {
    y[index] = first ? value : y[index] + value;
  }

  /** Four x rows × two w rows over k in [k0, k1): eight independent FMA chains. */
  private static void tile4x2(
      float[] x,
      int row,
      int k,
      float[] w,
      int col,
      int k0,
      int k1,
      int n,
      float[] y,
      boolean first) {
    int x0 = row * k;
    int x1 = x0 + k;
    int x2 = x1 + k;
    int x3 = x2 + k;
    int w0 = col * k;
    int w1 = w0 + k;
    FloatVector a00 = FloatVector.zero(SPECIES);
    FloatVector a01 = a00;
    FloatVector a10 = a00;
    FloatVector a11 = a00;
    FloatVector a20 = a00;
    FloatVector a21 = a00;
    FloatVector a30 = a00;
    FloatVector a31 = a00;
    int i = k0;
    int bound = k0 + SPECIES.loopBound(k1 - k0);
    for (; i < bound; i += LANES) {
      FloatVector b0 = FloatVector.fromArray(SPECIES, w, w0 + i);
      FloatVector b1 = FloatVector.fromArray(SPECIES, w, w1 + i);
      FloatVector v = FloatVector.fromArray(SPECIES, x, x0 + i);
      a00 = v.fma(b0, a00);
      a01 = v.fma(b1, a01);
      v = FloatVector.fromArray(SPECIES, x, x1 + i);
      a10 = v.fma(b0, a10);
      a11 = v.fma(b1, a11);
      v = FloatVector.fromArray(SPECIES, x, x2 + i);
      a20 = v.fma(b0, a20);
      a21 = v.fma(b1, a21);
      v = FloatVector.fromArray(SPECIES, x, x3 + i);
      a30 = v.fma(b0, a30);
      a31 = v.fma(b1, a31);
    }
    float s00 = a00.reduceLanes(VectorOperators.ADD);
    float s01 = a01.reduceLanes(VectorOperators.ADD);
    float s10 = a10.reduceLanes(VectorOperators.ADD);
    float s11 = a11.reduceLanes(VectorOperators.ADD);
    float s20 = a20.reduceLanes(VectorOperators.ADD);
    float s21 = a21.reduceLanes(VectorOperators.ADD);
    float s30 = a30.reduceLanes(VectorOperators.ADD);
    float s31 = a31.reduceLanes(VectorOperators.ADD);
    // Scalar tail when k is not a multiple of the vector length.
    for (; i < k1; i++) {
      float b0 = w[w0 + i];
      float b1 = w[w1 + i];
      s00 += x[x0 + i] * b0;
      s01 += x[x0 + i] * b1;
      s10 += x[x1 + i] * b0;
      s11 += x[x1 + i] * b1;
      s20 += x[x2 + i] * b0;
      s21 += x[x2 + i] * b1;
      s30 += x[x3 + i] * b0;
      s31 += x[x3 + i] * b1;
    }
    int y0 = row * n + col;
    store(y, y0, s00, first);
    store(y, y0 + 1, s01, first);
    store(y, y0 + n, s10, first);
    store(y, y0 + n + 1, s11, first);
    store(y, y0 + 2 * n, s20, first);
    store(y, y0 + 2 * n + 1, s21, first);
    store(y, y0 + 3 * n, s30, first);
    store(y, y0 + 3 * n + 1, s31, first);
  }

  /** One x row × four w rows: the decode (GEMV) shape, bound by reading w from memory. */
  private static void tile1x4(
      float[] x,
      int row,
      int k,
      float[] w,
      int col,
      int k0,
      int k1,
      int n,
      float[] y,
      boolean first) {
    int xo = row * k;
    int w0 = col * k;
    int w1 = w0 + k;
    int w2 = w1 + k;
    int w3 = w2 + k;
    FloatVector a0 = FloatVector.zero(SPECIES);
    FloatVector a1 = a0;
    FloatVector a2 = a0;
    FloatVector a3 = a0;
    int i = k0;
    int bound = k0 + SPECIES.loopBound(k1 - k0);
    for (; i < bound; i += LANES) {
      FloatVector v = FloatVector.fromArray(SPECIES, x, xo + i);
      a0 = v.fma(FloatVector.fromArray(SPECIES, w, w0 + i), a0);
      a1 = v.fma(FloatVector.fromArray(SPECIES, w, w1 + i), a1);
      a2 = v.fma(FloatVector.fromArray(SPECIES, w, w2 + i), a2);
      a3 = v.fma(FloatVector.fromArray(SPECIES, w, w3 + i), a3);
    }
    float s0 = a0.reduceLanes(VectorOperators.ADD);
    float s1 = a1.reduceLanes(VectorOperators.ADD);
    float s2 = a2.reduceLanes(VectorOperators.ADD);
    float s3 = a3.reduceLanes(VectorOperators.ADD);
    for (; i < k1; i++) {
      float v = x[xo + i];
      s0 += v * w[w0 + i];
      s1 += v * w[w1 + i];
      s2 += v * w[w2 + i];
      s3 += v * w[w3 + i];
    }
    int y0 = row * n + col;
    store(y, y0, s0, first);
    store(y, y0 + 1, s1, first);
    store(y, y0 + 2, s2, first);
    store(y, y0 + 3, s3, first);
  }

  /** One output: the edges of the tiling. */
  private static void single(
      float[] x,
      int row,
      int k,
      float[] w,
      int col,
      int k0,
      int k1,
      int n,
      float[] y,
      boolean first) {
    int xo = row * k;
    int wo = col * k;
    FloatVector acc = FloatVector.zero(SPECIES);
    int i = k0;
    int bound = k0 + SPECIES.loopBound(k1 - k0);
    for (; i < bound; i += LANES) {
      acc =
          FloatVector.fromArray(SPECIES, x, xo + i)
              .fma(FloatVector.fromArray(SPECIES, w, wo + i), acc);
    }
    float s = acc.reduceLanes(VectorOperators.ADD);
    for (; i < k1; i++) {
      s += x[xo + i] * w[wo + i];
    }
    store(y, row * n + col, s, first);
  }
}
