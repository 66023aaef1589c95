package dev.tandem.backend.opencl;

/**
 * The attention ops of the backend's kernel ({@link DeviceKernel} runs them): scores over the keys
 * an attention plan in {@code meta} gives each query (T5's relative bias looked up, never computed
 * here), softmax with the maximum subtracted, the weighted sum of values; keys and values from
 * tensors in {@code mem} or, paged, from the K and V pools through block tables. A work-item per
 * (query, head), or a work-group for GPUs. Arguments as every op's: {@code passes[at + ARG_*]}.
 */
abstract class DeviceAttention extends DeviceGemm {

  /**
   * One (query, head) of a planned attention call: scores over the keys the plan gives the query,
   * plus T5's relative bias, softmax with the maximum subtracted, and the weighted sum of values.
   * mode = plan offset in meta; in0 = q, out = out; rows = numHeads, inner = headDim; in1/in2 = k/v
   * base (tensor offsets in mem, or the layer's first element in the pools when paged); cols = bias
   * table offset in mem (or −1); factor = scale. Scores are recomputed in the second loop instead
   * of stored: a work-item has no scratch array, and the K rows are still in cache.
   */
  void attention(int at, int gid) {
    int plan = passes[at + ARG_MODE];
    int rows = passes[at + ARG_ROWS];
    int inner = passes[at + ARG_INNER];
    int query = gid / rows;
    int head = gid - query * rows;
    int stride = rows * inner;
    int sequence = meta[meta[plan + PLAN_QUERY_SEQUENCE] + query];
    int position = meta[meta[plan + PLAN_QUERY_POSITION] + query];
    int keys = keyCount(plan, sequence, position);
    int qo = passes[at + ARG_IN0] + query * stride + head * inner;
    int oo = passes[at + ARG_OUT] + query * stride + head * inner;
    int kHead = passes[at + ARG_IN1] + head * inner;
    int vHead = passes[at + ARG_IN2] + head * inner;
    float scale = passFactors[at / PASS_INTS];
    int biasHead = biasColumn(plan, passes[at + ARG_COLS], head);
    float maxScore = -3.4e38f;
    for (int j = 0; j < keys; j++) {
      float s = score(plan, sequence, position, j, qo, kHead, stride, inner, scale, biasHead, rows);
      maxScore = max(maxScore, s);
    }
    for (int d = 0; d < inner; d++) {
      mem[oo + d] = 0f;
    }
    float sum = 0f;
    for (int j = 0; j < keys; j++) {
      float s = score(plan, sequence, position, j, qo, kHead, stride, inner, scale, biasHead, rows);
      float e = exp(s - maxScore);
      sum += e;
      int vo = vHead + keyRow(plan, sequence, j) * stride;
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

  /**
   * {@link #attention} with a work-group of {@link DeviceGemm#LOCAL_THREADS} per (query, head)
   * instead of a work-item, for GPUs, where one work-item per pair left most of the device idle
   * (t5-small B = 256 decode: 2,048 pairs). The keys go in chunks of the group size: each work-item
   * scores one key of the chunk, the group takes the chunk's maximum, rescales what it has summed
   * so far to the new maximum (online softmax), and work-item t accumulates output dimensions t and
   * t + group size over the chunk's keys. Head dimensions up to twice the group size. Groups take
   * pairs in turn; count = pairs · group size.
   */
  void attentionGroups(int at) {
    int plan = passes[at + ARG_MODE];
    int rows = passes[at + ARG_ROWS];
    int inner = passes[at + ARG_INNER];
    int t = getLocalId();
    int size = getLocalSize();
    int pairs = passes[at + ARG_COUNT] / LOCAL_THREADS;
    int stride = rows * inner;
    float scale = passFactors[at / PASS_INTS];
    int biasTable = passes[at + ARG_COLS];
    int paged = meta[plan + PLAN_PAGED];
    for (int pair = getGroupId(); pair < pairs; pair += getNumGroups()) {
      int query = pair / rows;
      int head = pair - query * rows;
      int sequence = meta[meta[plan + PLAN_QUERY_SEQUENCE] + query];
      int position = meta[meta[plan + PLAN_QUERY_POSITION] + query];
      int keys = keyCount(plan, sequence, position);
      int qo = passes[at + ARG_IN0] + query * stride + head * inner;
      int kHead = passes[at + ARG_IN1] + head * inner;
      int vHead = passes[at + ARG_IN2] + head * inner;
      int biasHead = biasColumn(plan, biasTable, head);
      float m = -3.4e38f;
      float sum = 0f;
      float acc0 = 0f;
      float acc1 = 0f;
      for (int c0 = 0; c0 < keys; c0 += size) {
        int j = c0 + t;
        float s = -3.4e38f;
        if (j < keys) {
          s = score(plan, sequence, position, j, qo, kHead, stride, inner, scale, biasHead, rows);
        }
        float mNew = max(m, groupMax(s));
        float e = 0f;
        if (j < keys) {
          e = exp(s - mNew);
        }
        float correction = exp(m - mNew);
        groupFloats[t] = e;
        localBarrier();
        int n = min(size, keys - c0);
        float chunkSum = 0f;
        for (int w = 0; w < n; w++) {
          float ew = groupFloats[w];
          chunkSum += ew;
          int vo = vHead + keyRow(plan, sequence, c0 + w) * stride;
          float v0 = 0f;
          float v1 = 0f;
          if (paged == 1) {
            if (t < inner) {
              v0 = vPool[vo + t];
            }
            if (t + size < inner) {
              v1 = vPool[vo + t + size];
            }
          } else {
            if (t < inner) {
              v0 = mem[vo + t];
            }
            if (t + size < inner) {
              v1 = mem[vo + t + size];
            }
          }
          acc0 = acc0 * correction + ew * v0;
          acc1 = acc1 * correction + ew * v1;
          correction = 1f;
        }
        sum = sum * exp(m - mNew) + chunkSum;
        m = mNew;
        localBarrier(); // groupFloats is the next chunk's
      }
      float inv = 0f;
      if (keys > 0) {
        inv = 1f / sum; // no keys (empty encoder input) leaves zeros, as the item version
      }
      int oo = passes[at + ARG_OUT] + query * stride + head * inner;
      if (t < inner) {
        mem[oo + t] = acc0 * inv;
      }
      if (t + size < inner) {
        mem[oo + t + size] = acc1 * inv;
      }
    }
  }

  /**
   * Scaled q·k of key j plus the relative-position bias: q at qo, the head's K column at kHead in
   * key rows of stride floats; biasHead = the head's entry of the bias table (−1 without bias),
   * whose rows hold one value per head. Arguments, not pass reads: this runs once per key.
   */
  private float score(
      int plan,
      int sequence,
      int position,
      int j,
      int qo,
      int kHead,
      int stride,
      int inner,
      float scale,
      int biasHead,
      int heads) {
    int ko = kHead + keyRow(plan, sequence, j) * stride;
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
    float s = dot * scale;
    if (biasHead >= 0) {
      int distance = j - position + meta[plan + PLAN_MAX_KEYS] - 1;
      s += mem[biasHead + meta[meta[plan + PLAN_BUCKETS] + distance] * heads];
    }
    return s;
  }

  /** Keys a query at position sees: its sequence's, or up to itself when the plan is causal. */
  private int keyCount(int plan, int sequence, int position) {
    int keys = meta[meta[plan + PLAN_KEY_COUNT] + sequence];
    if (meta[plan + PLAN_CAUSAL] == 1) {
      keys = position + 1;
    }
    return keys;
  }

  /** The head's entry of the relative-bias table at biasTable, or −1 without bias. */
  private int biasColumn(int plan, int biasTable, int head) {
    int column = -1;
    if (biasTable >= 0 && meta[plan + PLAN_BUCKETS] >= 0) {
      column = biasTable + head;
    }
    return column;
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
}
