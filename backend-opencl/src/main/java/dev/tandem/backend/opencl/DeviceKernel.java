package dev.tandem.backend.opencl;

/**
 * Every device operation of the backend in one Aparapi kernel, over the arrays and arguments of
 * {@link DeviceState} (sampling in {@link DeviceSampling}). {@link #run()} dispatches on {@link
 * #op}. Code here is what Aparapi translates to OpenCL C: primitive locals, array fields, Kernel
 * math methods, no objects, no exceptions. Every op guards {@code gid < count} because the launch
 * range is rounded up to whole work-groups.
 */
final class DeviceKernel extends DeviceSampling {

  @Override
  public void run() {
    int gid = getGlobalId();
    if (gid < count) {
      if (op == OP_STAGE_IN) {
        stageIn(gid);
      } else if (op == OP_STAGE_OUT) {
        stageOut(gid);
      } else if (op == OP_STAGE_IN_INT) {
        ints[out + gid] = intStage[gid];
      } else if (op == OP_STAGE_OUT_INT) {
        intStage[gid] = ints[in0 + gid];
      } else if (op == OP_FILL) {
        mem[out + gid] = factor;
      } else if (op == OP_FILL_INT) {
        ints[out + gid] = mode;
      } else if (op == OP_EMBEDDING) {
        embedding(gid);
      } else if (op == OP_GEMM_4X4) {
        gemm4x4(gid);
      } else if (op == OP_GEMM_1X4) {
        gemm1x4(gid);
      } else if (op == OP_GEMM_STRIPS) {
        gemmStrips(gid);
      } else if (op == OP_ADD) {
        mem[out + gid] = mem[in0 + gid] + mem[in1 + gid];
      } else if (op == OP_MULTIPLY) {
        mem[out + gid] = mem[in0 + gid] * mem[in1 + gid];
      } else if (op == OP_SCALE) {
        mem[out + gid] = mem[in0 + gid] * factor;
      } else if (op == OP_ACTIVATION) {
        mem[out + gid] = activate(mem[in0 + gid]);
      } else if (op == OP_RMS_NORM) {
        rmsNorm(gid);
      } else if (op == OP_LAYER_NORM) {
        layerNorm(gid);
      } else if (op == OP_GREEDY_PARTS) {
        greedyParts(gid);
      } else if (op == OP_GREEDY_MERGE) {
        greedyMerge(gid);
      } else if (op == OP_CACHE_WRITE) {
        cacheWrite(gid);
      } else if (op == OP_ATTENTION) {
        attention(gid);
      } else if (op == OP_BLOCKS_OUT) {
        blocksOut(gid);
      } else if (op == OP_BLOCKS_IN) {
        blocksIn(gid);
      } else if (op == OP_COPY_BLOCKS) {
        copyBlocks(gid);
      } else if (op == OP_TRANSPOSE) {
        transpose(gid);
      } else if (op == OP_SAMPLE) {
        sample();
      }
    }
  }

  /** mem[out + i] = stage (mode 0) or bigStage (mode 1) [i]. */
  private void stageIn(int gid) {
    if (mode == 0) {
      mem[out + gid] = stage[gid];
    } else {
      mem[out + gid] = bigStage[gid];
    }
  }

  private void stageOut(int gid) {
    if (mode == 0) {
      stage[gid] = mem[in0 + gid];
    } else {
      bigStage[gid] = mem[in0 + gid];
    }
  }

  /**
   * out(rows, inner) = table[ids[i]] * factor; in0 = ids (ints), in1 = table, cols = table rows. An
   * id outside the table yields NaN rather than reading out of bounds.
   */
  private void embedding(int gid) {
    int row = gid / inner;
    int col = gid - row * inner;
    int id = ints[in0 + row];
    if (id < 0 || id >= cols) {
      mem[out + gid] = 0f / 0f;
    } else {
      mem[out + gid] = mem[in1 + id * inner + col] * factor;
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
  private void gemm4x4(int gid) {
    int threads = (cols + 3) / 4;
    int r0 = gid / threads * 4;
    int ct = gid % threads;
    int x0 = in0 + min(r0, rows - 1) * inner;
    int x1 = in0 + min(r0 + 1, rows - 1) * inner;
    int x2 = in0 + min(r0 + 2, rows - 1) * inner;
    int x3 = in0 + min(r0 + 3, rows - 1) * inner;
    int w0 = weightColumn(ct);
    int w1 = weightColumn(ct + threads);
    int w2 = weightColumn(ct + 2 * threads);
    int w3 = weightColumn(ct + 3 * threads);
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
    storeRow4(r0, ct, threads, a00, a01, a02, a03);
    storeRow4(r0 + 1, ct, threads, a10, a11, a12, a13);
    storeRow4(r0 + 2, ct, threads, a20, a21, a22, a23);
    storeRow4(r0 + 3, ct, threads, a30, a31, a32, a33);
  }

  /**
   * The same product for few rows (decode: one row per sequence): a 1×4 tile, so no work-item
   * computes rows that do not exist; four independent accumulators hide the FMA latency.
   */
  private void gemm1x4(int gid) {
    int threads = (cols + 3) / 4;
    int r = gid / threads;
    int ct = gid % threads;
    int x = in0 + r * inner;
    int w0 = weightColumn(ct);
    int w1 = weightColumn(ct + threads);
    int w2 = weightColumn(ct + 2 * threads);
    int w3 = weightColumn(ct + 3 * threads);
    float a0 = 0f, a1 = 0f, a2 = 0f, a3 = 0f;
    for (int k = 0; k < inner; k++) {
      int wk = k * cols;
      float xv = mem[x + k];
      a0 += xv * mem[w0 + wk];
      a1 += xv * mem[w1 + wk];
      a2 += xv * mem[w2 + wk];
      a3 += xv * mem[w3 + wk];
    }
    storeRow4(r, ct, threads, a0, a1, a2, a3);
  }

  /**
   * The same product for a CPU device (PoCL): a work-item owns 2 rows × {@link #STRIP} columns of y
   * and accumulates in y itself, k outermost: per k step it takes 2 x values and one contiguous
   * piece of a weight row. That innermost loop has no reduction and only contiguous loads and
   * stores, which PoCL's compiler vectorizes; the dot products of the tiles above are float
   * reductions it may not reorder, so it runs them scalar (6–8 against 25–35 GFLOP/s, measured
   * here). Row pairs vary fastest, so the work-items a core runs in turn share a weight strip.
   */
  private void gemmStrips(int gid) {
    int pairs = (rows + 1) / 2;
    int r0 = gid % pairs * 2;
    int c0 = gid / pairs * STRIP;
    int width = min(STRIP, cols - c0);
    int y0 = out + r0 * cols + c0;
    int x0 = in0 + r0 * inner;
    int w0 = in1 + c0;
    for (int j = 0; j < width; j++) {
      mem[y0 + j] = bias(c0 + j);
    }
    if (r0 + 1 < rows) {
      int y1 = y0 + cols;
      int x1 = x0 + inner;
      for (int j = 0; j < width; j++) {
        mem[y1 + j] = bias(c0 + j);
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
  private int weightColumn(int c) {
    return in1 + min(c, cols - 1);
  }

  /** mem[out + c * rows + r] = mem[in0 + r * cols + c]: (rows, cols) → (cols, rows). */
  private void transpose(int gid) {
    int r = gid / cols;
    int c = gid - r * cols;
    mem[out + c * rows + r] = mem[in0 + gid];
  }

  /** y[row, ct + j·threads] = values[j] + bias, skipping positions outside (rows, cols). */
  private void storeRow4(int row, int ct, int threads, float v0, float v1, float v2, float v3) {
    if (row < rows) {
      storeOne(row, ct, v0);
      storeOne(row, ct + threads, v1);
      storeOne(row, ct + 2 * threads, v2);
      storeOne(row, ct + 3 * threads, v3);
    }
  }

  private void storeOne(int row, int col, float value) {
    if (col < cols) {
      mem[out + row * cols + col] = value + bias(col);
    }
  }

  /** The bias of column col, or 0 without one (in2 = −1). */
  private float bias(int col) {
    float b = 0f;
    if (in2 >= 0) {
      b = mem[in2 + col];
    }
    return b;
  }

  /** The activation selected by {@link #mode}, in float32. */
  private float activate(float v) {
    float r = 0f;
    if (mode == ACT_RELU) {
      r = max(v, 0f);
    } else if (mode == ACT_GELU) {
      r = 0.5f * v * erfc(-v * 0.70710678f);
    } else if (mode == ACT_GELU_TANH) {
      r = 0.5f * v * (1f + tanh(0.7978845608f * (v + 0.044715f * v * v * v)));
    } else {
      r = v / (1f + exp(-v));
    }
    return r;
  }

  /**
   * Complementary error function (Chebyshev fit, Numerical Recipes §6.2, relative error < 1.2e-7),
   * the same formula as the CPU backend so GELU's negative tail keeps its digits.
   */
  private float erfc(float x) {
    float z = abs(x);
    float t = 1f / (1f + 0.5f * z);
    float poly =
        -1.26551223f
            + t
                * (1.00002368f
                    + t
                        * (0.37409196f
                            + t
                                * (0.09678418f
                                    + t
                                        * (-0.18628806f
                                            + t
                                                * (0.27886807f
                                                    + t
                                                        * (-1.13520398f
                                                            + t
                                                                * (1.48851587f
                                                                    + t
                                                                        * (-0.82215223f
                                                                            + t
                                                                                * 0.17087277f))))))));
    float r = t * exp(-z * z + poly);
    if (x < 0f) {
      r = 2f - r;
    }
    return r;
  }

  /**
   * T5 LayerNorm of row gid: out = x / sqrt(mean(x²) + eps) * weight; in0 = x, in1 = weight. With
   * mode ≥ 0, x += mem[mode..] first (the residual add before the norm).
   */
  private void rmsNorm(int row) {
    int base = row * inner;
    addDelta(base);
    float squares = 0f;
    for (int i = 0; i < inner; i++) {
      float v = mem[in0 + base + i];
      squares += v * v;
    }
    float inv = 1f / sqrt(squares / inner + factor);
    for (int i = 0; i < inner; i++) {
      mem[out + base + i] = mem[in0 + base + i] * inv * mem[in1 + i];
    }
  }

  /**
   * out = (x − mean) / sqrt(var + eps) * weight + bias; two passes avoid cancellation. With mode ≥
   * 0, x += mem[mode..] first, as {@link #rmsNorm}.
   */
  private void layerNorm(int row) {
    int base = row * inner;
    addDelta(base);
    float sum = 0f;
    for (int i = 0; i < inner; i++) {
      sum += mem[in0 + base + i];
    }
    float mean = sum / inner;
    float squares = 0f;
    for (int i = 0; i < inner; i++) {
      float d = mem[in0 + base + i] - mean;
      squares += d * d;
    }
    float inv = 1f / sqrt(squares / inner + factor);
    for (int i = 0; i < inner; i++) {
      mem[out + base + i] = (mem[in0 + base + i] - mean) * inv * mem[in1 + i] + mem[in2 + i];
    }
  }

  /** mem[in0 + base + i] += mem[mode + base + i] for the row at base, unless mode is −1. */
  private void addDelta(int base) {
    if (mode >= 0) {
      for (int i = 0; i < inner; i++) {
        mem[in0 + base + i] += mem[mode + base + i];
      }
    }
  }

  /**
   * Greedy choice, part 1: work-item gid = row · cols + part scans part {@code part} of the logits
   * row (in0, rows of inner, split in cols parts) for its largest value (first index on ties) and Σ
   * exp(v − that value): mem[in1 + 2·gid] = max, mem[in1 + 2·gid + 1] = sum, ints[in2 + gid] =
   * index. Parts keep a GPU's work-items busy; one work-item per row was a serial scan of the whole
   * vocabulary.
   */
  private void greedyParts(int gid) {
    int row = gid / cols;
    int part = gid - row * cols;
    int chunk = (inner + cols - 1) / cols;
    int from = min(inner, part * chunk);
    int to = min(inner, from + chunk);
    int base = in0 + row * inner;
    int best = inner;
    float max = -1f / 0f; // −infinity: an empty or fully masked part adds nothing
    for (int i = from; i < to; i++) {
      float v = mem[base + i];
      if (v > max || best == inner) {
        max = v;
        best = i;
      }
    }
    float sum = 0f;
    if (max > -1f / 0f) {
      for (int i = from; i < to; i++) {
        sum += exp(mem[base + i] - max);
      }
    }
    mem[in1 + 2 * gid] = max;
    mem[in1 + 2 * gid + 1] = sum;
    ints[in2 + gid] = best;
  }

  /**
   * Greedy choice, part 2, per row: merges the row's cols parts of {@link #greedyParts} (an earlier
   * part wins a tie, so the first index of the maximum wins): ints[out + row] = its index, mem[mode
   * + row] = its log-softmax, −log Σ_p sum_p · exp(max_p − max).
   */
  private void greedyMerge(int row) {
    int first = row * cols;
    float max = mem[in1 + 2 * first];
    int best = ints[in2 + first];
    for (int p = 1; p < cols; p++) {
      float v = mem[in1 + 2 * (first + p)];
      if (v > max) {
        max = v;
        best = ints[in2 + first + p];
      }
    }
    float sum = 0f;
    for (int p = 0; p < cols; p++) {
      float partMax = mem[in1 + 2 * (first + p)];
      if (partMax > -1f / 0f) {
        sum += mem[in1 + 2 * (first + p) + 1] * exp(partMax - max);
      }
    }
    ints[out + row] = best;
    mem[mode + row] = -log(sum);
  }

  /**
   * Writes token rows of k (in0) and v (in1), each of {@code inner} values, into the pools at the
   * slots meta[in2 + token]; out = the layer's first element in the pools.
   */
  private void cacheWrite(int gid) {
    int token = gid / inner;
    int e = gid - token * inner;
    int slot = meta[in2 + token];
    kPool[out + slot * inner + e] = mem[in0 + token * inner + e];
    vPool[out + slot * inner + e] = mem[in1 + token * inner + e];
  }

  /**
   * One (query, head) of a planned attention call: scores over the keys the plan gives the query,
   * plus T5's relative bias, softmax with the maximum subtracted, and the weighted sum of values.
   * mode = plan offset in meta; in0 = q, out = out; rows = numHeads, inner = headDim; in1/in2 = k/v
   * base (tensor offsets in mem, or the layer's first element in the pools when paged); cols = bias
   * table offset in mem (or −1); factor = scale. Scores are recomputed in the second pass instead
   * of stored: a work-item has no scratch array, and the K rows are still in cache.
   */
  private void attention(int gid) {
    int plan = mode;
    int query = gid / rows;
    int head = gid - query * rows;
    int stride = rows * inner;
    int sequence = meta[meta[plan + PLAN_QUERY_SEQUENCE] + query];
    int position = meta[meta[plan + PLAN_QUERY_POSITION] + query];
    int keys = meta[meta[plan + PLAN_KEY_COUNT] + sequence];
    if (meta[plan + PLAN_CAUSAL] == 1) {
      keys = position + 1;
    }
    int qo = in0 + query * stride + head * inner;
    int oo = out + query * stride + head * inner;
    float maxScore = -3.4e38f;
    for (int j = 0; j < keys; j++) {
      maxScore = max(maxScore, score(plan, sequence, position, j, head, qo, stride));
    }
    for (int d = 0; d < inner; d++) {
      mem[oo + d] = 0f;
    }
    float sum = 0f;
    for (int j = 0; j < keys; j++) {
      float e = exp(score(plan, sequence, position, j, head, qo, stride) - maxScore);
      sum += e;
      int vo = in2 + keyRow(plan, sequence, j) * stride + head * inner;
      if (meta[plan + PLAN_PAGED] == 1) {
        for (int d = 0; d < inner; d++) {
          mem[oo + d] += e * vPool[vo + d];
        }
      } else {
        for (int d = 0; d < inner; d++) {
          mem[oo + d] += e * mem[vo + d];
        }
      }
    }
    if (keys > 0) {
      // No keys (empty encoder input) leaves zeros, as the CPU backend does, instead of NaN.
      float inv = 1f / sum;
      for (int d = 0; d < inner; d++) {
        mem[oo + d] = mem[oo + d] * inv;
      }
    }
  }

  /** Scaled q·k of key j plus the relative-position bias (when the plan has buckets). */
  private float score(int plan, int sequence, int position, int j, int head, int qo, int stride) {
    int ko = in1 + keyRow(plan, sequence, j) * stride + head * inner;
    float dot = 0f;
    if (meta[plan + PLAN_PAGED] == 1) {
      for (int d = 0; d < inner; d++) {
        dot += mem[qo + d] * kPool[ko + d];
      }
    } else {
      for (int d = 0; d < inner; d++) {
        dot += mem[qo + d] * mem[ko + d];
      }
    }
    float s = dot * factor;
    int buckets = meta[plan + PLAN_BUCKETS];
    if (cols >= 0 && buckets >= 0) {
      int distance = j - position + meta[plan + PLAN_MAX_KEYS] - 1;
      s += mem[cols + meta[buckets + distance] * rows + head];
    }
    return s;
  }

  /** Row of key j of a sequence: consecutive rows, or the slot its block table names. */
  private int keyRow(int plan, int sequence, int j) {
    int start = meta[meta[plan + PLAN_KEY_START] + sequence];
    int row = start + j;
    if (meta[plan + PLAN_PAGED] == 1) {
      int blockSize = meta[plan + PLAN_BLOCK_SIZE];
      int block = j / blockSize;
      row = meta[start + block] * blockSize + (j - block * blockSize);
    }
    return row;
  }

  /**
   * Gathers blocks into bigStage, laid out (layer, K/V, i, element): intStage[i] = source block,
   * rows = number of blocks, inner = block elements, cols = blocks per layer in the pools.
   */
  private void blocksOut(int gid) {
    int e = gid % inner;
    int i = (gid / inner) % rows;
    int pool = (gid / (inner * rows)) % 2;
    int layer = gid / (inner * rows * 2);
    int src = (layer * cols + intStage[i]) * inner + e;
    if (pool == 0) {
      bigStage[gid] = kPool[src];
    } else {
      bigStage[gid] = vPool[src];
    }
  }

  /** The reverse of {@link #blocksOut}: intStage[i] = target block. */
  private void blocksIn(int gid) {
    int e = gid % inner;
    int i = (gid / inner) % rows;
    int pool = (gid / (inner * rows)) % 2;
    int layer = gid / (inner * rows * 2);
    int dst = (layer * cols + intStage[i]) * inner + e;
    if (pool == 0) {
      kPool[dst] = bigStage[gid];
    } else {
      vPool[dst] = bigStage[gid];
    }
  }

  /** Copies block intStage[2i] to intStage[2i + 1] in every layer's K and V pool. */
  private void copyBlocks(int gid) {
    int e = gid % inner;
    int i = (gid / inner) % rows;
    int layer = gid / (inner * rows);
    int src = (layer * cols + intStage[2 * i]) * inner + e;
    int dst = (layer * cols + intStage[2 * i + 1]) * inner + e;
    kPool[dst] = kPool[src];
    vPool[dst] = vPool[src];
  }
}
