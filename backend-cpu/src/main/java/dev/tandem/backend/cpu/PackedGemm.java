package dev.tandem.backend.cpu;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The GEMM kernel for many rows (prefill): y(m, n) = x(m, k) · w(n, k)ᵀ, GotoBLAS-style. The
 * register tile is {@value #ROWS} x rows × {@link #PANEL} outputs (BLIS's AVX2 shape): 12 FMA
 * accumulators, 2 w vectors and one broadcast x value fit the 16 AVX2 registers without spilling (a
 * 4 × 3-vector tile needs all 16 and measured half as fast). For that, w is packed k-major in
 * panels of {@link #PANEL} rows, so one k step of a panel is two consecutive vectors.
 *
 * <p>Loops: k blocks of {@link #K_BLOCK}, for which x's rows are first copied to a padded buffer;
 * then per thread over its share of the output columns: column blocks of w rows, packed once (256
 * KiB, in L2); row tiles of x (24 KiB, in L1 after the first panel); every panel of the column
 * block against that tile. A row tile sweeps y along its rows, which the hardware prefetcher
 * follows.
 */
final class PackedGemm {

  private static final VectorSpecies<Float> SPECIES = Simd.SPECIES;
  private static final int LANES = SPECIES.length();

  /** x rows per register tile. */
  static final int ROWS = 6;

  /** Outputs per register tile and per packed panel: two vectors. */
  static final int PANEL = 2 * LANES;

  /**
   * k values per pass: y is read and written once per pass, so passes should be few (512 measured
   * 60, 1024 measured 72 GFLOP per CPU-second at 256 × 1024 × 1024).
   */
  static final int K_BLOCK = 1024;

  /**
   * Floats of w packed at a time: 256 KiB, half of L2 (64 w rows at k = 1024, 128 at k = 512). The
   * more w rows a block holds, the fewer times x is copied: once per block.
   */
  private static final int PACKED_FLOATS = 64 * 1024;

  /**
   * Floats between the copied x rows: K_BLOCK plus one cache line. Rows of x 1024 floats (4 KiB)
   * apart all map to the same L1 sets, and the kernel reads six of them at once.
   */
  private static final int ROW_STRIDE = K_BLOCK + 16;

  private final WorkerPool pool;
  private final float[][] packedW; // (worker) -> (block panels, kc, PANEL)
  private final float[][] tiles; // (worker) -> (ROWS, PANEL): the register tile, stored
  private float[] rows = new float[0]; // (row tiles * ROWS, ROW_STRIDE): x's k block, padded

  PackedGemm(WorkerPool pool) {
    this.pool = pool;
    this.packedW = new float[pool.threads()][PACKED_FLOATS];
    this.tiles = new float[pool.threads()][ROWS * PANEL];
  }

  /**
   * y = x · wᵀ (+ bias). Per k block, the threads first copy x's rows into {@link #rows} (once for
   * all column blocks: per column block it cost 9 % of a prefill), then split the panels (output
   * columns).
   */
  void multiply(float[] x, int m, int k, float[] w, float[] bias, int n, float[] y) {
    int panelCount = (n + PANEL - 1) / PANEL;
    int rowTileCount = (m + ROWS - 1) / ROWS;
    long rowFloats = (long) rowTileCount * ROWS * ROW_STRIDE;
    if (rows.length < rowFloats) {
      rows = new float[Math.toIntExact(rowFloats)];
    }
    float[] xs = rows;
    for (int k0 = 0; k0 < k; k0 += K_BLOCK) {
      int kb = k0;
      int kc = Math.min(K_BLOCK, k - k0);
      boolean first = k0 == 0;
      boolean last = k0 + kc == k;
      pool.forRange(
          rowTileCount,
          1,
          (worker, start, end) -> {
            for (int t = start; t < end; t++) {
              int r0 = t * ROWS;
              copyRows(x, k, r0, Math.min(ROWS, m - r0), kb, kc, xs, r0 * ROW_STRIDE);
            }
          });
      // One chunk of panels per thread: every chunk sweeps all of x's row tiles, so more, smaller
      // chunks would read x (m = 2048: 8 MiB) that many more times.
      pool.forRange(
          panelCount,
          (panelCount + pool.threads() - 1) / pool.threads(),
          (worker, start, end) -> {
            float[] panels = packedW[worker];
            float[] tile = tiles[worker];
            int c1 = Math.min(n, end * PANEL);
            int colBlock = Math.max(1, PACKED_FLOATS / kc / PANEL) * PANEL;
            for (int cb = start * PANEL; cb < c1; cb += colBlock) {
              int blockCols = Math.min(colBlock, c1 - cb);
              int blockPanels = (blockCols + PANEL - 1) / PANEL;
              for (int p = 0; p < blockPanels; p++) {
                int col = cb + p * PANEL;
                packPanel(w, k, col, Math.min(PANEL, n - col), kb, kc, panels, p * kc * PANEL);
              }
              for (int r0 = 0; r0 < m; r0 += ROWS) {
                int x0 = r0 * ROW_STRIDE;
                for (int p = 0; p < blockPanels; p++) {
                  int col = cb + p * PANEL;
                  kernel(
                      xs,
                      x0,
                      x0 + ROW_STRIDE,
                      x0 + 2 * ROW_STRIDE,
                      x0 + 3 * ROW_STRIDE,
                      x0 + 4 * ROW_STRIDE,
                      x0 + 5 * ROW_STRIDE,
                      kc,
                      panels,
                      p * kc * PANEL,
                      tile);
                  store(
                      tile,
                      Math.min(ROWS, m - r0),
                      Math.min(PANEL, n - col),
                      y,
                      r0 * n + col,
                      n,
                      first);
                }
              }
            }
            if (last && bias != null) {
              for (int r = 0; r < m; r++) {
                for (int c = start * PANEL; c < c1; c++) {
                  y[r * n + c] += bias[c];
                }
              }
            }
          });
    }
  }

  /**
   * Copies x rows [r0, r0 + rows) × k [k0, k0 + kc) to out[at + r * ROW_STRIDE + kk]; the rest of
   * the tile's ROWS rows is zero.
   */
  private static void copyRows(
      float[] x, int k, int r0, int rows, int k0, int kc, float[] out, int at) {
    for (int r = 0; r < ROWS; r++) {
      int to = at + r * ROW_STRIDE;
      if (r < rows) {
        System.arraycopy(x, (r0 + r) * k + k0, out, to, kc);
      } else {
        Arrays.fill(out, to, to + kc, 0f);
      }
    }
  }

  /** panel[at + kk * PANEL + j] = w[col + j][k0 + kk]; columns past n are zero. */
  private static void packPanel(
      float[] w, int k, int col, int cols, int k0, int kc, float[] panel, int at) {
    for (int j = 0; j < cols; j++) {
      int src = (col + j) * k + k0;
      for (int kk = 0; kk < kc; kk++) {
        panel[at + kk * PANEL + j] = w[src + kk];
      }
    }
    for (int j = cols; j < PANEL; j++) {
      for (int kk = 0; kk < kc; kk++) {
        panel[at + kk * PANEL + j] = 0f;
      }
    }
  }

  /** y tile (rows, cols) at y0 = (or +=) the kernel's tile; full tiles go a vector at a time. */
  private static void store(
      float[] tile, int rows, int cols, float[] y, int y0, int n, boolean first) {
    for (int r = 0; r < rows; r++) {
      int yr = y0 + r * n;
      if (cols == PANEL) {
        for (int j = 0; j < PANEL; j += LANES) {
          FloatVector c = FloatVector.fromArray(SPECIES, tile, r * PANEL + j);
          if (!first) {
            c = c.add(FloatVector.fromArray(SPECIES, y, yr + j));
          }
          c.intoArray(y, yr + j);
        }
      } else {
        for (int j = 0; j < cols; j++) {
          y[yr + j] = first ? tile[r * PANEL + j] : y[yr + j] + tile[r * PANEL + j];
        }
      }
    }
  }

  /**
   * The register tile: tile(ROWS, PANEL) = six rows of {@code rows} (at x0..x5) · the panel at p0
   * over kc steps. ({@link SkinnyGemm} passes rows of w here and a panel of x.) It has no branches
   * besides the loop, so C2 keeps all 12 accumulators in registers and never deoptimizes it on an
   * edge case; the tile is stored once per k block (96 floats against 12288 FMAs).
   */
  static void kernel(
      float[] rows,
      int x0,
      int x1,
      int x2,
      int x3,
      int x4,
      int x5,
      int kc,
      float[] panel,
      int p0,
      float[] tile) {
    FloatVector c00 = FloatVector.zero(SPECIES);
    FloatVector c01 = c00;
    FloatVector c10 = c00;
    FloatVector c11 = c00;
    FloatVector c20 = c00;
    FloatVector c21 = c00;
    FloatVector c30 = c00;
    FloatVector c31 = c00;
    FloatVector c40 = c00;
    FloatVector c41 = c00;
    FloatVector c50 = c00;
    FloatVector c51 = c00;
    for (int kk = 0; kk < kc; kk++) {
      // One k step: 2 panel vectors, each x value broadcast once and used for 2 FMAs. Six x
      // streams (rows) rather than one interleaved stream: C2 compiles the interleaved form
      // (x[base + 6 * kk + r]) to code that measured half as fast.
      int po = p0 + kk * PANEL;
      FloatVector b0 = FloatVector.fromArray(SPECIES, panel, po);
      FloatVector b1 = FloatVector.fromArray(SPECIES, panel, po + LANES);
      FloatVector a = FloatVector.broadcast(SPECIES, rows[x0 + kk]);
      c00 = a.fma(b0, c00);
      c01 = a.fma(b1, c01);
      a = FloatVector.broadcast(SPECIES, rows[x1 + kk]);
      c10 = a.fma(b0, c10);
      c11 = a.fma(b1, c11);
      a = FloatVector.broadcast(SPECIES, rows[x2 + kk]);
      c20 = a.fma(b0, c20);
      c21 = a.fma(b1, c21);
      a = FloatVector.broadcast(SPECIES, rows[x3 + kk]);
      c30 = a.fma(b0, c30);
      c31 = a.fma(b1, c31);
      a = FloatVector.broadcast(SPECIES, rows[x4 + kk]);
      c40 = a.fma(b0, c40);
      c41 = a.fma(b1, c41);
      a = FloatVector.broadcast(SPECIES, rows[x5 + kk]);
      c50 = a.fma(b0, c50);
      c51 = a.fma(b1, c51);
    }
    c00.intoArray(tile, 0);
    c01.intoArray(tile, LANES);
    c10.intoArray(tile, PANEL);
    c11.intoArray(tile, PANEL + LANES);
    c20.intoArray(tile, 2 * PANEL);
    c21.intoArray(tile, 2 * PANEL + LANES);
    c30.intoArray(tile, 3 * PANEL);
    c31.intoArray(tile, 3 * PANEL + LANES);
    c40.intoArray(tile, 4 * PANEL);
    c41.intoArray(tile, 4 * PANEL + LANES);
    c50.intoArray(tile, 5 * PANEL);
    c51.intoArray(tile, 5 * PANEL + LANES);
  }
}
