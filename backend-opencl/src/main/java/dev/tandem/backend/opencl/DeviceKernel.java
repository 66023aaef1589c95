package dev.tandem.backend.opencl;

/**
 * Every device operation of the backend in one Aparapi kernel, over the arrays of {@link
 * DeviceState} (GEMMs in {@link DeviceGemm}, attention in {@link DeviceAttention}, sampling in
 * {@link DeviceSampling}). {@link #run()} runs the op of the current pass with that pass's
 * arguments, each work-item taking items gid, gid + global size, … below the op's count. Code here
 * is what Aparapi translates to OpenCL C: primitive locals, array fields, Kernel math methods, no
 * objects, no exceptions, and no writes to scalar fields (Aparapi refuses them). So each op reads
 * its arguments from {@code passes[at + ARG_*]}, {@code at} being its pass's first int, inline:
 * Aparapi orders the OpenCL functions by a heuristic that put a shared accessor method after some
 * of its callers, and the program did not build.
 */
final class DeviceKernel extends DeviceAttention {

  @Override
  public void run() {
    int at = getPassId() * PASS_INTS;
    int op = passes[at + ARG_OP];
    if (op == OP_SAMPLE) {
      sample(at); // its range is exactly one work-group per row: barriers inside
    } else if (op == OP_GEMM_LOCAL) {
      gemmLocal(at); // work-groups take tiles in turn: barriers inside
    } else if (op == OP_ATTENTION_GROUPS) {
      attentionGroups(at); // work-groups take (query, head) pairs in turn: barriers inside
    } else {
      int count = passes[at + ARG_COUNT];
      for (int gid = getGlobalId(); gid < count; gid += getGlobalSize()) {
        item(op, at, gid);
      }
    }
  }

  /** Item gid of op, whose arguments are the pass's at {@code passes[at]}. */
  private void item(int op, int at, int gid) {
    int out = passes[at + ARG_OUT];
    int in0 = passes[at + ARG_IN0];
    if (op == OP_STAGE_IN) {
      stageIn(at, gid);
    } else if (op == OP_STAGE_OUT) {
      stageOut(at, gid);
    } else if (op == OP_STAGE_IN_INT) {
      ints[out + gid] = intStage[in0 + gid];
    } else if (op == OP_STAGE_OUT_INT) {
      intStage[gid] = ints[in0 + gid];
    } else if (op == OP_FILL) {
      mem[out + gid] = passFactors[at / PASS_INTS];
    } else if (op == OP_FILL_INT) {
      ints[out + gid] = passes[at + ARG_MODE];
    } else if (op == OP_EMBEDDING) {
      embedding(at, gid);
    } else if (op == OP_GEMM_4X4) {
      gemm4x4(at, gid);
    } else if (op == OP_GEMM_1X4) {
      gemm1x4(at, gid);
    } else if (op == OP_GEMM_STRIPS) {
      gemmStrips(at, gid);
    } else if (op == OP_ADD) {
      mem[out + gid] = mem[in0 + gid] + mem[passes[at + ARG_IN1] + gid];
    } else if (op == OP_MULTIPLY) {
      mem[out + gid] = mem[in0 + gid] * mem[passes[at + ARG_IN1] + gid];
    } else if (op == OP_SCALE) {
      mem[out + gid] = mem[in0 + gid] * passFactors[at / PASS_INTS];
    } else if (op == OP_ACTIVATION) {
      mem[out + gid] = activate(passes[at + ARG_MODE], mem[in0 + gid]);
    } else if (op == OP_RMS_NORM) {
      rmsNorm(at, gid);
    } else if (op == OP_LAYER_NORM) {
      layerNorm(at, gid);
    } else if (op == OP_GREEDY_PARTS) {
      greedyParts(at, gid);
    } else if (op == OP_GREEDY_MERGE) {
      greedyMerge(at, gid);
    } else if (op == OP_CACHE_WRITE) {
      cacheWrite(at, gid);
    } else if (op == OP_ATTENTION) {
      attention(at, gid);
    } else if (op == OP_BLOCKS_OUT) {
      blocksOut(at, gid);
    } else if (op == OP_BLOCKS_IN) {
      blocksIn(at, gid);
    } else if (op == OP_COPY_BLOCKS) {
      copyBlocks(at, gid);
    } else if (op == OP_TRANSPOSE) {
      transpose(at, gid);
    }
  }

  /** mem[out + i] = stage (mode 0) or bigStage (mode 1) [in0 + i]. */
  private void stageIn(int at, int gid) {
    int out = passes[at + ARG_OUT];
    int in0 = passes[at + ARG_IN0];
    if (passes[at + ARG_MODE] == 0) {
      mem[out + gid] = stage[in0 + gid];
    } else {
      mem[out + gid] = bigStage[in0 + gid];
    }
  }

  private void stageOut(int at, int gid) {
    int in0 = passes[at + ARG_IN0];
    if (passes[at + ARG_MODE] == 0) {
      stage[gid] = mem[in0 + gid];
    } else {
      bigStage[gid] = mem[in0 + gid];
    }
  }

  /**
   * out(rows, inner) = table[ids[i]] * factor; in0 = ids (ints), in1 = table, cols = table rows. An
   * id outside the table yields NaN rather than reading out of bounds.
   */
  private void embedding(int at, int gid) {
    int inner = passes[at + ARG_INNER];
    int row = gid / inner;
    int col = gid - row * inner;
    int id = ints[passes[at + ARG_IN0] + row];
    int out = passes[at + ARG_OUT];
    if (id < 0 || id >= passes[at + ARG_COLS]) {
      mem[out + gid] = 0f / 0f;
    } else {
      mem[out + gid] = mem[passes[at + ARG_IN1] + id * inner + col] * passFactors[at / PASS_INTS];
    }
  }

  /** The activation selected by mode (ACT_*), in float32. */
  private float activate(int mode, float v) {
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
  private void rmsNorm(int at, int row) {
    int inner = passes[at + ARG_INNER];
    int in0 = passes[at + ARG_IN0];
    int in1 = passes[at + ARG_IN1];
    int out = passes[at + ARG_OUT];
    int base = row * inner;
    addDelta(at, base);
    float squares = 0f;
    for (int i = 0; i < inner; i++) {
      float v = mem[in0 + base + i];
      squares += v * v;
    }
    float inv = 1f / sqrt(squares / inner + passFactors[at / PASS_INTS]);
    for (int i = 0; i < inner; i++) {
      mem[out + base + i] = mem[in0 + base + i] * inv * mem[in1 + i];
    }
  }

  /**
   * out = (x − mean) / sqrt(var + eps) * weight + bias; two passes avoid cancellation. With mode ≥
   * 0, x += mem[mode..] first, as {@link #rmsNorm}.
   */
  private void layerNorm(int at, int row) {
    int inner = passes[at + ARG_INNER];
    int in0 = passes[at + ARG_IN0];
    int in1 = passes[at + ARG_IN1];
    int in2 = passes[at + ARG_IN2];
    int out = passes[at + ARG_OUT];
    int base = row * inner;
    addDelta(at, base);
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
    float inv = 1f / sqrt(squares / inner + passFactors[at / PASS_INTS]);
    for (int i = 0; i < inner; i++) {
      mem[out + base + i] = (mem[in0 + base + i] - mean) * inv * mem[in1 + i] + mem[in2 + i];
    }
  }

  /** mem[in0 + base + i] += mem[mode + base + i] for the row at base, unless mode is −1. */
  private void addDelta(int at, int base) {
    int mode = passes[at + ARG_MODE];
    int inner = passes[at + ARG_INNER];
    int in0 = passes[at + ARG_IN0];
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
  private void greedyParts(int at, int gid) {
    int cols = passes[at + ARG_COLS];
    int inner = passes[at + ARG_INNER];
    int in1 = passes[at + ARG_IN1];
    int row = gid / cols;
    int part = gid - row * cols;
    int chunk = (inner + cols - 1) / cols;
    int from = min(inner, part * chunk);
    int to = min(inner, from + chunk);
    int base = passes[at + ARG_IN0] + row * inner;
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
    ints[passes[at + ARG_IN2] + gid] = best;
  }

  /**
   * Greedy choice, part 2, per row: merges the row's cols parts of {@link #greedyParts} (an earlier
   * part wins a tie, so the first index of the maximum wins): ints[out + row] = its index, mem[mode
   * + row] = its log-softmax, −log Σ_p sum_p · exp(max_p − max).
   */
  private void greedyMerge(int at, int row) {
    int cols = passes[at + ARG_COLS];
    int in1 = passes[at + ARG_IN1];
    int in2 = passes[at + ARG_IN2];
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
    ints[passes[at + ARG_OUT] + row] = best;
    mem[passes[at + ARG_MODE] + row] = -log(sum);
  }

  /**
   * Writes token rows of k (in0) and v (in1), each of {@code inner} values, into the pools at the
   * slots meta[in2 + token]; out = the layer's first element in the pools.
   */
  private void cacheWrite(int at, int gid) {
    int inner = passes[at + ARG_INNER];
    int out = passes[at + ARG_OUT];
    int token = gid / inner;
    int e = gid - token * inner;
    int slot = meta[passes[at + ARG_IN2] + token];
    kPool[out + slot * inner + e] = mem[passes[at + ARG_IN0] + token * inner + e];
    vPool[out + slot * inner + e] = mem[passes[at + ARG_IN1] + token * inner + e];
  }

  /**
   * Gathers blocks into bigStage, laid out (layer, K/V, i, element): intStage[i] = source block,
   * rows = number of blocks, inner = block elements, cols = blocks per layer in the pools.
   */
  private void blocksOut(int at, int gid) {
    int rows = passes[at + ARG_ROWS];
    int cols = passes[at + ARG_COLS];
    int inner = passes[at + ARG_INNER];
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
  private void blocksIn(int at, int gid) {
    int rows = passes[at + ARG_ROWS];
    int cols = passes[at + ARG_COLS];
    int inner = passes[at + ARG_INNER];
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
  private void copyBlocks(int at, int gid) {
    int rows = passes[at + ARG_ROWS];
    int cols = passes[at + ARG_COLS];
    int inner = passes[at + ARG_INNER];
    int e = gid % inner;
    int i = (gid / inner) % rows;
    int layer = gid / (inner * rows);
    int src = (layer * cols + intStage[2 * i]) * inner + e;
    int dst = (layer * cols + intStage[2 * i + 1]) * inner + e;
    kPool[dst] = kPool[src];
    vPool[dst] = vPool[src];
  }
}
