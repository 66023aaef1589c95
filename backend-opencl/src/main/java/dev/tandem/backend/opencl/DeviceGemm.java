package dev.tandem.backend.opencl;

/**
 * The GEMM ops of the backend's kernel ({@link DeviceKernel} runs them): y = x · w + bias as
 * register tiles for GPUs or row-pair strips for CPU devices, and the transpose that lays a weight
 * out (inner, cols) for them once. Arguments as every op's: {@code passes[at + ARG_*]}.
 */
abstract class DeviceGemm extends DeviceSampling {

  /** Edge of the y tile one work-group of {@link #OP_GEMM_LOCAL} computes. */
  static final int LOCAL_TILE = 32;

  /** Work-items of an {@link #OP_GEMM_LOCAL} work-group: 8 × 8, each 4 × 4 values of y. */
  static final int LOCAL_THREADS = 64;

  /**
   * x tile in local memory, k-major with a padded stride (LOCAL_TILE + 1) against bank conflicts.
   */
  @Local float[] tileX = new float[LOCAL_TILE * (LOCAL_TILE + 1)];

  /** w tile in local memory, k-major. */
  @Local float[] tileW = new float[LOCAL_TILE * LOCAL_TILE];

  /** Work-items of an {@link #OP_GEMM_LOCAL} launch over y(rows, cols): a group per tile. */
  static long localItems(int rows, int cols) {
    long tiles =
        (long) ((rows + LOCAL_TILE - 1) / LOCAL_TILE) * ((cols + LOCAL_TILE - 1) / LOCAL_TILE);
    return tiles * LOCAL_THREADS;
  }

  /**
   * y(rows, cols) = x(rows, inner) · w(inner, cols) (+ bias) as {@link #gemm4x4}, for a GPU's
   * larger products: a work-group of {@link #LOCAL_THREADS} computes a {@link #LOCAL_TILE}² tile of
   * y, staging 32 × 32 pieces of x and w in local memory, so each value read from global memory
   * serves 32 outputs instead of 4. Work-item (ty, tx) owns rows ty + 8i and columns tx + 8j (i, j
   * < 4): neighbours read neighbouring local floats. Work-groups take tiles in turn (a queued pass
   * may have fewer groups than tiles), and every work-item of a group reaches every barrier.
   */
  void gemmLocal(int at) {
    int rows = passes[at + ARG_ROWS];
    int cols = passes[at + ARG_COLS];
    int inner = passes[at + ARG_INNER];
    int in0 = passes[at + ARG_IN0];
    int in1 = passes[at + ARG_IN1];
    int t = getLocalId();
    int ty = t / 8;
    int tx = t - ty * 8;
    int tileCols = (cols + LOCAL_TILE - 1) / LOCAL_TILE;
    int tiles = (rows + LOCAL_TILE - 1) / LOCAL_TILE * tileCols;
    for (int tile = getGroupId(); tile < tiles; tile += getNumGroups()) {
      int r0 = tile / tileCols * LOCAL_TILE;
      int c0 = (tile - tile / tileCols * tileCols) * LOCAL_TILE;
      float a00 = 0f, a01 = 0f, a02 = 0f, a03 = 0f;
      float a10 = 0f, a11 = 0f, a12 = 0f, a13 = 0f;
      float a20 = 0f, a21 = 0f, a22 = 0f, a23 = 0f;
      float a30 = 0f, a31 = 0f, a32 = 0f, a33 = 0f;
      for (int k0 = 0; k0 < inner; k0 += LOCAL_TILE) {
        for (int e = t; e < LOCAL_TILE * LOCAL_TILE; e += LOCAL_THREADS) {
          int hi = e / LOCAL_TILE; // x: row; w: k
          int lo = e - hi * LOCAL_TILE; // x: k; w: column
          float xv = 0f;
          if (r0 + hi < rows && k0 + lo < inner) {
            xv = mem[in0 + (r0 + hi) * inner + k0 + lo];
          }
          tileX[lo * (LOCAL_TILE + 1) + hi] = xv;
          float wv = 0f;
          if (k0 + hi < inner && c0 + lo < cols) {
            wv = mem[in1 + (k0 + hi) * cols + c0 + lo];
          }
          tileW[hi * LOCAL_TILE + lo] = wv;
        }
        localBarrier();
        for (int k = 0; k < LOCAL_TILE; k++) {
          int xk = k * (LOCAL_TILE + 1) + ty;
          int wk = k * LOCAL_TILE + tx;
          float x0 = tileX[xk];
          float x1 = tileX[xk + 8];
          float x2 = tileX[xk + 16];
          float x3 = tileX[xk + 24];
          float w0 = tileW[wk];
          float w1 = tileW[wk + 8];
          float w2 = tileW[wk + 16];
          float w3 = tileW[wk + 24];
          a00 += x0 * w0;
          a01 += x0 * w1;
          a02 += x0 * w2;
          a03 += x0 * w3;
          a10 += x1 * w0;
          a11 += x1 * w1;
          a12 += x1 * w2;
          a13 += x1 * w3;
          a20 += x2 * w0;
          a21 += x2 * w1;
          a22 += x2 * w2;
          a23 += x2 * w3;
          a30 += x3 * w0;
          a31 += x3 * w1;
          a32 += x3 * w2;
          a33 += x3 * w3;
        }
        localBarrier();
      }
      storeRow4(at, r0 + ty, c0 + tx, 8, a00, a01, a02, a03);
      storeRow4(at, r0 + ty + 8, c0 + tx, 8, a10, a11, a12, a13);
      storeRow4(at, r0 + ty + 16, c0 + tx, 8, a20, a21, a22, a23);
      storeRow4(at, r0 + ty + 24, c0 + tx, 8, a30, a31, a32, a33);
    }
  }

  /**
   * y(rows, cols) = x(rows, inner) · w(inner, cols) (+ bias): in0 = x, in1 = w, the weight
   * transposed once by {@link #OP_TRANSPOSE}, in2 = bias or −1. For a GPU: each work-item owns a
   * 4×4 tile of y, per k step it loads 4 x values and 4 w values and does 16 FMAs in registers. Its
   * columns are ct + j·T (T = ceil(cols / 4) column threads), so neighbouring work-items read
   * neighbouring floats of a weight row (coalesced) while the x values are the same for all of
   * them. Edge tiles clamp their loads to the last row/column and skip the stores.
   */
  void gemm4x4(int at, int gid) {
    int rows = passes[at + ARG_ROWS];
    int cols = passes[at + ARG_COLS];
    int inner = passes[at + ARG_INNER];
    int in0 = passes[at + ARG_IN0];
    int threads = (cols + 3) / 4;
    int r0 = gid / threads * 4;
    int ct = gid % threads;
    int x0 = in0 + min(r0, rows - 1) * inner;
    int x1 = in0 + min(r0 + 1, rows - 1) * inner;
    int x2 = in0 + min(r0 + 2, rows - 1) * inner;
    int x3 = in0 + min(r0 + 3, rows - 1) * inner;
    int w0 = weightColumn(at, ct);
    int w1 = weightColumn(at, ct + threads);
    int w2 = weightColumn(at, ct + 2 * threads);
    int w3 = weightColumn(at, ct + 3 * threads);
    float a00 = 0f, a01 = 0f, a02 = 0f, a03 = 0f;
    float a10 = 0f, a11 = 0f, a12 = 0f, a13 = 0f;
    float a20 = 0f, a21 = 0f, a22 = 0f, a23 = 0f;
    float a30 = 0f, a31 = 0f, a32 = 0f, a33 = 0f;
    for (int k = 0; k < inner; k++) {
      int wk = k * cols;
      float xv0 = mem[x0 + k];
      float xv1 = mem[x1 + k];
      float xv2 = mem[x2 + k];
      float xv3 = mem[x3 + k];
      float wv0 = mem[w0 + wk];
      float wv1 = mem[w1 + wk];
      float wv2 = mem[w2 + wk];
      float wv3 = mem[w3 + wk];
      a00 += xv0 * wv0;
      a01 += xv0 * wv1;
      a02 += xv0 * wv2;
      a03 += xv0 * wv3;
      a10 += xv1 * wv0;
      a11 += xv1 * wv1;
      a12 += xv1 * wv2;
      a13 += xv1 * wv3;
      a20 += xv2 * wv0;
      a21 += xv2 * wv1;
      a22 += xv2 * wv2;
      a23 += xv2 * wv3;
      a30 += xv3 * wv0;
      a31 += xv3 * wv1;
      a32 += xv3 * wv2;
      a33 += xv3 * wv3;
    }
    storeRow4(at, r0, ct, threads, a00, a01, a02, a03);
    storeRow4(at, r0 + 1, ct, threads, a10, a11, a12, a13);
    storeRow4(at, r0 + 2, ct, threads, a20, a21, a22, a23);
    storeRow4(at, r0 + 3, ct, threads, a30, a31, a32, a33);
  }

  /**
   * The same product for few rows (decode: one row per sequence): a 1×4 tile, so no work-item
   * computes rows that do not exist; four independent accumulators hide the FMA latency.
   */
  void gemm1x4(int at, int gid) {
    int cols = passes[at + ARG_COLS];
    int inner = passes[at + ARG_INNER];
    int threads = (cols + 3) / 4;
    int r = gid / threads;
    int ct = gid % threads;
    int x = passes[at + ARG_IN0] + r * inner;
    int w0 = weightColumn(at, ct);
    int w1 = weightColumn(at, ct + threads);
    int w2 = weightColumn(at, ct + 2 * threads);
    int w3 = weightColumn(at, ct + 3 * threads);
    float a0 = 0f, a1 = 0f, a2 = 0f, a3 = 0f;
    for (int k = 0; k < inner; k++) {
      int wk = k * cols;
      float xv = mem[x + k];
      a0 += xv * mem[w0 + wk];
      a1 += xv * mem[w1 + wk];
      a2 += xv * mem[w2 + wk];
      a3 += xv * mem[w3 + wk];
    }
    storeRow4(at, r, ct, threads, a0, a1, a2, a3);
  }

  /**
   * The same product for a CPU device (PoCL): a work-item owns 2 rows × {@link #STRIP} columns of y
   * and accumulates in y itself, k outermost: per k step it takes 2 x values and one contiguous
   * piece of a weight row. That innermost loop has no reduction and only contiguous loads and
   * stores, which PoCL's compiler vectorizes; the dot products of the tiles above are float
   * reductions it may not reorder, so it runs them scalar (6–8 against 25–35 GFLOP/s, measured
   * here). Row pairs vary fastest, so the work-items a core runs in turn share a weight strip.
   */
  void gemmStrips(int at, int gid) {
    int rows = passes[at + ARG_ROWS];
    int cols = passes[at + ARG_COLS];
    int inner = passes[at + ARG_INNER];
    int pairs = (rows + 1) / 2;
    int r0 = gid % pairs * 2;
    int c0 = gid / pairs * STRIP;
    int width = min(STRIP, cols - c0);
    int y0 = passes[at + ARG_OUT] + r0 * cols + c0;
    int x0 = passes[at + ARG_IN0] + r0 * inner;
    int w0 = passes[at + ARG_IN1] + c0;
    for (int j = 0; j < width; j++) {
      mem[y0 + j] = bias(at, c0 + j);
    }
    if (r0 + 1 < rows) {
      int y1 = y0 + cols;
      int x1 = x0 + inner;
      for (int j = 0; j < width; j++) {
        mem[y1 + j] = bias(at, c0 + j);
      }
      for (int k = 0; k < inner; k++) {
        float v0 = mem[x0 + k];
        float v1 = mem[x1 + k];
        int wk = w0 + k * cols;
        for (int j = 0; j < width; j++) {
          float w = mem[wk + j];
          mem[y0 + j] += v0 * w;
          mem[y1 + j] += v1 * w;
        }
      }
    } else {
      for (int k = 0; k < inner; k++) {
        float v0 = mem[x0 + k];
        int wk = w0 + k * cols;
        for (int j = 0; j < width; j++) {
          mem[y0 + j] += v0 * mem[wk + j];
        }
      }
    }
  }

  /** Offset in mem of element k = 0 of weight column c, clamped to the last column. */
  private int weightColumn(int at, int c) {
    return passes[at + ARG_IN1] + min(c, passes[at + ARG_COLS] - 1);
  }

  /** mem[out + c * rows + r] = mem[in0 + r * cols + c]: (rows, cols) → (cols, rows). */
  void transpose(int at, int gid) {
    int cols = passes[at + ARG_COLS];
    int r = gid / cols;
    int c = gid - r * cols;
    mem[passes[at + ARG_OUT] + c * passes[at + ARG_ROWS] + r] = mem[passes[at + ARG_IN0] + gid];
  }

  /** y[row, ct + j·threads] = values[j] + bias, skipping positions outside (rows, cols). */
  private void storeRow4(
      int at, int row, int ct, int threads, float v0, float v1, float v2, float v3) {
    if (row < passes[at + ARG_ROWS]) {
      storeOne(at, row, ct, v0);
      storeOne(at, row, ct + threads, v1);
      storeOne(at, row, ct + 2 * threads, v2);
      storeOne(at, row, ct + 3 * threads, v3);
    }
  }

  private void storeOne(int at, int row, int col, float value) {
    int cols = passes[at + ARG_COLS];
    if (col < cols) {
      // The bias inline rather than through bias(): called from gemmLocal too, bias() was emitted
      // after this method by Aparapi's function ordering, and the program did not build.
      int in2 = passes[at + ARG_IN2];
      float b = 0f;
      if (in2 >= 0) {
        b = mem[in2 + col];
      }
      mem[passes[at + ARG_OUT] + row * cols + col] = value + b;
    }
  }

  /** The bias of column col, or 0 without one (in2 = −1). */
  private float bias(int at, int col) {
    int in2 = passes[at + ARG_IN2];
    float b = 0f;
    if (in2 >= 0) {
      b = mem[in2 + col];
    }
    return b;
  }
}
