package dev.tandem.backend.opencl;

/**
 * The sampling op of the backend's kernel ({@code OP_SAMPLE}), apart from {@link DeviceKernel}'s
 * other ops: one work-group per logits row chooses the row's token by the host sampler's rules
 * (AttentionBackend.sample) and writes only the token and its log-probability. Weights exp(x − max)
 * ∈ (0, 1] are summed as fixed-point longs ({@link #WEIGHT_ONE} = 1), so every sum is exact and the
 * result does not depend on how the work is split (and no device needs double precision). Top-k's
 * and top-p's cuts are found by bisection over the values, each step one pass over the row and a
 * group-wide count or sum.
 */
abstract class DeviceSampling extends DeviceState {

  /** Largest work-group a sampling launch uses (the group-wide arrays' length). */
  static final int SAMPLE_GROUP = 64;

  /** Floats per row of the settings in {@link #mem}: inverse temperature, ln min-p. */
  static final int SAMPLE_FLOATS = 2;

  /** Ints per row of the settings in {@link #ints}: greedy, top-k, top-p · 2^31, uniform · 2^31. */
  static final int SAMPLE_INTS = 4;

  /** Fixed-point one: a weight w is the long w · 2^44 (a vocabulary of 2^19 sums below 2^63). */
  static final float WEIGHT_ONE = 17592186044416f;

  /** Bisection steps that narrow any two floats down to neighbours. */
  private static final int BISECTION_STEPS = 300;

  @Local float[] groupFloats = new float[SAMPLE_GROUP];

  @Local int[] groupInts = new int[SAMPLE_GROUP + 1];

  @Local long[] groupLongs = new long[SAMPLE_GROUP + 1];

  /**
   * Row {@code getGroupId()} of logits (in0, rows of inner): settings at mem[in1 + row ·
   * SAMPLE_FLOATS] and ints[in2 + row · SAMPLE_INTS]; the token goes to ints[out + row], its
   * log-probability to mem[cols + row]. Every work-item of the group runs every step (barriers).
   */
  void sample(int at) {
    int inner = passes[at + ARG_INNER];
    int in1 = passes[at + ARG_IN1];
    int in2 = passes[at + ARG_IN2];
    int row = getGroupId();
    int lid = getLocalId();
    int size = getLocalSize();
    int base = passes[at + ARG_IN0] + row * inner;
    float inv = mem[in1 + row * SAMPLE_FLOATS];
    float logMinP = mem[in1 + row * SAMPLE_FLOATS + 1];
    int greedy = ints[in2 + row * SAMPLE_INTS];
    int topK = ints[in2 + row * SAMPLE_INTS + 1];
    int p31 = ints[in2 + row * SAMPLE_INTS + 2];
    int u31 = ints[in2 + row * SAMPLE_INTS + 3];

    // 1. The max m of x = row · inv, and the cut below which tokens are masked.
    float m = -1f / 0f;
    for (int i = lid; i < inner; i += size) {
      m = max(m, mem[base + i] * inv);
    }
    m = groupMax(m);
    float cut = -1f / 0f;
    if (greedy == 0 && topK > 0 && topK < inner) {
      cut = kthLargest(base, inner, inv, topK);
    }
    if (greedy == 0 && p31 >= 0) {
      cut = massCut(base, inner, inv, m, cut, p31);
    }
    if (greedy == 0) {
      cut = max(cut, m + logMinP);
    }

    // 2. The weights of the tokens left, summed over contiguous chunks, one per work-item.
    int chunk = (inner + size - 1) / size;
    int begin = min(inner, lid * chunk);
    int end = min(inner, begin + chunk);
    long sum = 0;
    for (int i = begin; i < end; i++) {
      sum += weight(mem[base + i] * inv, m, cut);
    }
    groupLongs[lid] = sum;
    localBarrier();
    if (lid == 0) {
      long running = 0;
      for (int w = 0; w < size; w++) {
        long chunkSum = groupLongs[w];
        groupLongs[w] = running;
        running += chunkSum;
      }
      groupLongs[size] = running;
      groupInts[SAMPLE_GROUP] = inner; // no token yet
    }
    localBarrier();
    long before = groupLongs[lid];
    long total = groupLongs[size];

    // 3. The token: greedy's first maximum, or the first whose running weight exceeds u · total.
    if (greedy != 0) {
      int first = inner;
      for (int i = lid; i < inner; i += size) {
        if (mem[base + i] == m && i < first) {
          first = i;
        }
      }
      first = groupMinInt(first);
      if (lid == 0) {
        groupInts[SAMPLE_GROUP] = first;
      }
    } else {
      long target = scaled(total, u31);
      if (sum > 0 && before <= target && target < before + sum) {
        long running = before;
        int token = inner;
        for (int i = begin; i < end; i++) {
          running += weight(mem[base + i] * inv, m, cut);
          if (running > target && token == inner) {
            token = i;
          }
        }
        groupInts[SAMPLE_GROUP] = token; // exact sums: one work-item's chunk holds the target
      }
    }
    localBarrier();
    if (lid == 0) {
      int token = min(groupInts[SAMPLE_GROUP], inner - 1);
      ints[passes[at + ARG_OUT] + row] = token;
      mem[passes[at + ARG_COLS] + row] =
          mem[base + token] * inv - (m + log((float) total * (1f / WEIGHT_ONE)));
    }
  }

  /** w = exp(x − m) as a fixed-point long for a token at or above the cut, else 0. */
  private long weight(float x, float m, float cut) {
    long w = 0;
    if (x >= cut) {
      w = (long) (exp(x - m) * WEIGHT_ONE);
    }
    return w;
  }

  /** floor(f31 · total / 2^31) without overflow, for f31 in [0, 2^31) and total below 2^63. */
  private long scaled(long total, int f31) {
    long f = f31;
    return f * (total >> 31) + ((f * (total & 0x7fffffffL)) >> 31);
  }

  /**
   * The k-th largest x (equal values counted apart): the largest value v with at least k values at
   * or above it, by bisection between the smallest x and the largest.
   */
  private float kthLargest(int base, int inner, float inv, int k) {
    int lid = getLocalId();
    int size = getLocalSize();
    float lo = 1f / 0f;
    float hi = -1f / 0f;
    for (int i = lid; i < inner; i += size) {
      lo = min(lo, mem[base + i] * inv);
      hi = max(hi, mem[base + i] * inv);
    }
    lo = -groupMax(-lo);
    hi = groupMax(hi);
    float kth = hi;
    if (countAtLeast(base, inner, inv, hi) < k) {
      // count(x >= lo) >= k > count(x >= hi) holds from here on
      for (int step = 0; step < BISECTION_STEPS; step++) {
        float mid = lo + (hi - lo) * 0.5f;
        if (mid > lo && mid < hi) {
          if (countAtLeast(base, inner, inv, mid) >= k) {
            lo = mid;
          } else {
            hi = mid;
          }
        } else {
          step = BISECTION_STEPS; // neighbours: lo is the value
        }
      }
      kth = lo;
    }
    return kth;
  }

  /**
   * Top-p's cut: with w the weights of the tokens at or above {@code cut}, the largest value v with
   * Σ w over x ≥ v at least p · Σ w (p = p31 / 2^31), by bisection as {@link #kthLargest}.
   */
  private float massCut(int base, int inner, float inv, float m, float cut, int p31) {
    int lid = getLocalId();
    int size = getLocalSize();
    float lo = 1f / 0f;
    for (int i = lid; i < inner; i += size) {
      float x = mem[base + i] * inv;
      if (x >= cut) {
        lo = min(lo, x);
      }
    }
    lo = -groupMax(-lo);
    float hi = m;
    long target = scaled(massAtLeast(base, inner, inv, m, cut, lo), p31);
    float found = hi;
    if (massAtLeast(base, inner, inv, m, cut, hi) < target) {
      for (int step = 0; step < BISECTION_STEPS; step++) {
        float mid = lo + (hi - lo) * 0.5f;
        if (mid > lo && mid < hi) {
          if (massAtLeast(base, inner, inv, m, cut, mid) >= target) {
            lo = mid;
          } else {
            hi = mid;
          }
        } else {
          step = BISECTION_STEPS;
        }
      }
      found = lo;
    }
    return found;
  }

  /** How many x are at least v, over the group. */
  private int countAtLeast(int base, int inner, float inv, float v) {
    int lid = getLocalId();
    int size = getLocalSize();
    int count = 0;
    for (int i = lid; i < inner; i += size) {
      if (mem[base + i] * inv >= v) {
        count++;
      }
    }
    groupInts[lid] = count;
    localBarrier();
    if (lid == 0) {
      int total = 0;
      for (int w = 0; w < size; w++) {
        total += groupInts[w];
      }
      groupInts[SAMPLE_GROUP] = total;
    }
    localBarrier();
    int result = groupInts[SAMPLE_GROUP];
    localBarrier();
    return result;
  }

  /** Σ of the weights of the tokens at or above both the cut and v, over the group. */
  private long massAtLeast(int base, int inner, float inv, float m, float cut, float v) {
    int lid = getLocalId();
    int size = getLocalSize();
    long mass = 0;
    for (int i = lid; i < inner; i += size) {
      float x = mem[base + i] * inv;
      if (x >= v) {
        mass += weight(x, m, cut);
      }
    }
    groupLongs[lid] = mass;
    localBarrier();
    if (lid == 0) {
      long total = 0;
      for (int w = 0; w < size; w++) {
        total += groupLongs[w];
      }
      groupLongs[SAMPLE_GROUP] = total;
    }
    localBarrier();
    long result = groupLongs[SAMPLE_GROUP];
    localBarrier();
    return result;
  }

  /** The largest v of the group; every work-item gets it. */
  float groupMax(float v) {
    int lid = getLocalId();
    int size = getLocalSize();
    groupFloats[lid] = v;
    localBarrier();
    if (lid == 0) {
      float best = groupFloats[0];
      for (int w = 1; w < size; w++) {
        best = max(best, groupFloats[w]);
      }
      groupFloats[0] = best;
    }
    localBarrier();
    float result = groupFloats[0];
    localBarrier();
    return result;
  }

  /** The smallest v of the group; every work-item gets it. */
  private int groupMinInt(int v) {
    int lid = getLocalId();
    int size = getLocalSize();
    groupInts[lid] = v;
    localBarrier();
    if (lid == 0) {
      int best = groupInts[0];
      for (int w = 1; w < size; w++) {
        best = min(best, groupInts[w]);
      }
      groupInts[0] = best;
    }
    localBarrier();
    int result = groupInts[0];
    localBarrier();
    return result;
  }
}
