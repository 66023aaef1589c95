package dev.tandem.backend.cpu;

import jdk.incubator.vector.VectorSpecies;

/**
 * The GEMM kernel for a decode batch of a few dozen rows: y(m, n) = x(m, k) · w(n, k)ᵀ with m small
 * and w large. {@link PackedGemm}'s register tile with the operands' roles swapped: here x is the
 * small operand, so x is packed (k-major, {@link PackedGemm#PANEL} rows per panel, a pass over m ×
 * k floats) and w is read in place, {@link PackedGemm#ROWS} rows at a time, each value broadcast
 * once into two FMAs. w is read from memory once per call and reused from L1 for every x panel; the
 * x panels stay in L2. The kernel computes yᵀ tiles, stored transposed.
 *
 * <p>Against the dot-product tile of {@link Gemm} (4 x rows × 2 w rows, 6 vector loads per 8 FMAs
 * with x streaming from L2) this reads 2 vectors from L2 per 12 FMAs.
 */
final class SkinnyGemm {

  private static final VectorSpecies<Float> SPECIES = Simd.SPECIES;

  /** x rows per packed panel: the width of the register tile. */
  private static final int PANEL = PackedGemm.PANEL;

  /** w rows per register tile. */
  private static final int ROWS = PackedGemm.ROWS;

  private static final int K_BLOCK = PackedGemm.K_BLOCK;

  /** Register tiles (ROWS w rows each) per thread below which splitting costs more. */
  private static final int MIN_TILES_PER_THREAD = 4;

  /** k values per unit of packing work: 128 × PANEL floats. */
  private static final int PACK_SLICE = 128;

  /** Packing units per thread below which splitting costs more. */
  private static final int MIN_SLICES_PER_THREAD = 2;

  private final WorkerPool pool;
  private final float[][] tiles; // (worker) -> (ROWS, PANEL): the register tile, stored
  private float[] packedX = new float[0]; // (panels, k, PANEL)

  SkinnyGemm(WorkerPool pool) {
    this.pool = pool;
    this.tiles = new float[pool.threads()][ROWS * PANEL];
  }

  /** y = x · wᵀ (+ bias); threads split the tiles of w rows (output columns). */
  void multiply(float[] x, int m, int k, float[] w, float[] bias, int n, float[] y) {
    int panels = (m + PANEL - 1) / PANEL;
    float[] xp = packX(x, m, k, panels);
    int tileCount = (n + ROWS - 1) / ROWS;
    pool.forRange(
        tileCount,
        MIN_TILES_PER_THREAD,
        (worker, start, end) -> {
          float[] tile = tiles[worker];
          for (int k0 = 0; k0 < k; k0 += K_BLOCK) {
            int kc = Math.min(K_BLOCK, k - k0);
            boolean first = k0 == 0;
            for (int t = start; t < end; t++) {
              int col = t * ROWS;
              int cols = Math.min(ROWS, n - col);
              // A short last tile repeats its last w row; those outputs are not stored.
              int w0 = col * k + k0;
              int last = cols - 1;
              for (int p = 0; p < panels; p++) {
                PackedGemm.kernel(
                    w,
                    w0,
                    w0 + Math.min(1, last) * k,
                    w0 + Math.min(2, last) * k,
                    w0 + Math.min(3, last) * k,
                    w0 + Math.min(4, last) * k,
                    w0 + Math.min(5, last) * k,
                    kc,
                    xp,
                    (p * k + k0) * PANEL,
                    tile);
                storeTransposed(
                    tile, cols, Math.min(PANEL, m - p * PANEL), y, p * PANEL, col, n, first);
              }
            }
          }
          if (bias != null) {
            int c1 = Math.min(n, end * ROWS);
            for (int r = 0; r < m; r++) {
              for (int c = start * ROWS; c < c1; c++) {
                y[r * n + c] += bias[c];
              }
            }
          }
        });
  }

  /**
   * packedX[(p · k + kk) · PANEL + j] = x[p · PANEL + j][kk]; rows past m are zero. The threads
   * split it in slices of {@link #PACK_SLICE} k values per panel: alone, the calling thread's
   * packing was 2.6 % of a t5-small B = 32 decode step on 2 threads, time in which the others wait.
   */
  private float[] packX(float[] x, int m, int k, int panels) {
    int size = panels * k * PANEL;
    if (packedX.length < size) {
      packedX = new float[size];
    }
    float[] xp = packedX;
    int slices = (k + PACK_SLICE - 1) / PACK_SLICE;
    pool.forRange(
        panels * slices,
        MIN_SLICES_PER_THREAD,
        (worker, start, end) -> {
          for (int unit = start; unit < end; unit++) {
            packSlice(x, m, k, unit / slices, (unit % slices) * PACK_SLICE, xp);
          }
        });
    return xp;
  }

  /**
   * Panel p's k values [k0, k0 + PACK_SLICE): k step by k step, so the writes are consecutive and
   * each of the panel's PANEL source rows is read along its cache lines.
   */
  private static void packSlice(float[] x, int m, int k, int p, int k0, float[] xp) {
    int k1 = Math.min(k, k0 + PACK_SLICE);
    int row0 = p * PANEL;
    int rows = Math.min(PANEL, m - row0);
    for (int kk = k0; kk < k1; kk++) {
      int at = (p * k + kk) * PANEL;
      for (int j = 0; j < rows; j++) {
        xp[at + j] = x[(row0 + j) * k + kk];
      }
      for (int j = rows; j < PANEL; j++) {
        xp[at + j] = 0f;
      }
    }
  }

  /**
   * y[row0 + j][col + r] = (or +=) tile[r][j] for the tile's cols w rows and rows x rows: row by
   * row of y, so the writes are runs of cols consecutive floats.
   */
  private static void storeTransposed(
      float[] tile, int cols, int rows, float[] y, int row0, int col, int n, boolean first) {
    for (int j = 0; j < rows; j++) {
      int at = (row0 + j) * n + col;
      for (int r = 0; r < cols; r++) {
        float value = tile[r * PANEL + j];
        y[at + r] = first ? value : y[at + r] + value;
      }
    }
  }
}
