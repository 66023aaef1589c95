// Sampling where the logits are: one thread block per row of logits(n, vocab) chooses the row's
// token by the host sampler's rules (AttentionBackend.sample): greedy, or temperature, then top-k,
// top-p and min-p cuts, then a draw with the row's uniform number. Only the token and its
// log-probability leave the device. Every sum is formed in a fixed order, so the same input always
// gives the same token.
#include "common.cuh"

// Settings per row, as SamplingRows packs them (doubles).
#define FIELDS 5

struct Add {
  template <typename T>
  __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};
struct Max {
  __device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); }
  __device__ __forceinline__ int operator()(int a, int b) const { return max(a, b); }
};
struct Min {
  __device__ __forceinline__ int operator()(int a, int b) const { return min(a, b); }
};

// op over the whole block (blockDim.x a multiple of 32); every thread gets the same result, the
// warps' partial results combined in warp order. `scratch` holds 32 values.
template <typename T, typename Op>
__device__ __forceinline__ T block_reduce(T v, T* scratch, Op op) {
  int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP, warps = blockDim.x / WARP;
#pragma unroll
  for (int o = WARP / 2; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = scratch[0];
  for (int w = 1; w < warps; w++) v = op(v, scratch[w]);
  __syncthreads();
  return v;
}

// A key that orders floats as unsigned ints: larger value, larger key.
__device__ __forceinline__ unsigned order_key(float x) {
  unsigned bits = __float_as_uint(x);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

__device__ __forceinline__ float key_value(unsigned key) {
  return __uint_as_float((key & 0x80000000u) ? (key & 0x7fffffffu) : ~key);
}

// The k-th largest of x = row * inv (equal values counted apart): the largest key with at least k
// keys at or above it, found bit by bit from the top.
__device__ float kth_largest(const float* row, int vocab, float inv, int k, int* scratch) {
  unsigned key = 0;
  for (int bit = 31; bit >= 0; bit--) {
    unsigned candidate = key | (1u << bit);
    int count = 0;
    for (int c = threadIdx.x; c < vocab; c += blockDim.x) count += order_key(row[c] * inv) >= candidate;
    if (block_reduce(count, scratch, Add()) >= k) key = candidate;
  }
  return key_value(key);
}

// Top-p's cut: with w = exp(x - m) over the tokens at or above `cut`, the largest value v with
// sum(w, x >= v) >= p * sum(w), found bit by bit over the keys as kth_largest does with counts.
__device__ float mass_cut(const float* row, int vocab, float inv, float m, float cut, double p,
                          double* scratch) {
  double total = 0.0;
  for (int c = threadIdx.x; c < vocab; c += blockDim.x) {
    float x = row[c] * inv;
    if (x >= cut) total += expf(x - m);
  }
  double target = p * block_reduce(total, scratch, Add());
  unsigned key = 0;
  for (int bit = 31; bit >= 0; bit--) {
    unsigned candidate = key | (1u << bit);
    double mass = 0.0;
    for (int c = threadIdx.x; c < vocab; c += blockDim.x) {
      float x = row[c] * inv;
      if (x >= cut && order_key(x) >= candidate) mass += expf(x - m);
    }
    if (block_reduce(mass, scratch, Add()) >= target) key = candidate;
  }
  return key == 0 ? cut : key_value(key);  // key 0: no value reaches the target (rounding): keep all
}

// Prefix sums over the block, threads in order: returns the sum of v over the threads before this
// one (exclusive) and sets *inclusive to that plus v. A thread's exclusive sum is bit for bit the
// previous thread's inclusive one, so the threads' intervals [exclusive, inclusive) tile [0, total)
// without gaps or overlaps. `scratch` holds 32 doubles.
__device__ double block_scan(double v, double* inclusive, double* scratch) {
  int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP;
#pragma unroll
  for (int o = 1; o < WARP; o <<= 1) {
    double up = __shfl_up_sync(0xffffffffu, v, o);
    if (lane >= o) v += up;
  }
  double previous = __shfl_up_sync(0xffffffffu, v, 1);  // the lane before's sum within the warp
  if (lane == WARP - 1) scratch[warp] = v;
  __syncthreads();
  double before = 0.0;  // the warps before, added in order by every thread alike
  for (int w = 0; w < warp; w++) before += scratch[w];
  __syncthreads();
  *inclusive = before + v;
  return lane == 0 ? before : before + previous;
}

// settings(n, FIELDS): temperature (0: greedy), top-k (0: off), top-p (1: off), min-p (0: off),
// uniform in [0, 1). ids[row] = the chosen token, logprobs[row] = its log-probability under the
// processed distribution.
extern "C" __global__ void sample_f32(const float* logits, int vocab, const double* settings,
                                      int* ids, float* logprobs) {
  __shared__ float floats[WARP];
  __shared__ int ints[WARP];
  __shared__ double doubles[WARP];
  __shared__ int chosen;
  const float* row = logits + (long long)blockIdx.x * vocab;
  const double* s = settings + (long long)FIELDS * blockIdx.x;
  double temperature = s[0], topP = s[2], minP = s[3], uniform = s[4];
  int topK = (int)s[1];
  bool greedy = temperature == 0.0;
  float inv = greedy ? 1.0f : (float)(1.0 / temperature);

  // 1. The max m of x = row * inv, and the cut below which tokens are masked.
  float m = -INFINITY;
  for (int c = threadIdx.x; c < vocab; c += blockDim.x) m = fmaxf(m, row[c] * inv);
  m = block_reduce(m, floats, Max());
  float cut = -INFINITY;
  if (!greedy && topK > 0 && topK < vocab) cut = kth_largest(row, vocab, inv, topK, ints);
  if (!greedy && topP < 1.0) cut = mass_cut(row, vocab, inv, m, cut, topP, doubles);
  if (!greedy && minP > 0.0) cut = fmaxf(cut, (float)((double)m + log(minP)));

  // 2. Weights w = exp(x - m) of the tokens left, summed over contiguous chunks, one per thread.
  int chunk = (vocab + blockDim.x - 1) / blockDim.x;
  int begin = min(vocab, (int)threadIdx.x * chunk), end = min(vocab, begin + chunk);
  double sum = 0.0;
  int last = -1;  // the chunk's last token of nonzero weight
  for (int c = begin; c < end; c++) {
    float x = row[c] * inv;
    float w = x >= cut ? expf(x - m) : 0.0f;
    if (w > 0.0f) {
      sum += w;
      last = c;
    }
  }
  double inclusive;
  double exclusive = block_scan(sum, &inclusive, doubles);
  __shared__ double total;
  if (threadIdx.x == blockDim.x - 1) total = inclusive;
  if (threadIdx.x == 0) chosen = -1;
  __syncthreads();

  // 3. The token: greedy's first maximum, or the first whose running weight exceeds uniform * total.
  if (greedy) {
    int first = 0x7fffffff;
    for (int c = threadIdx.x; c < vocab; c += blockDim.x) {
      if (row[c] == m) first = min(first, c);
    }
    first = block_reduce(first, ints, Min());
    if (threadIdx.x == 0) chosen = first == 0x7fffffff ? 0 : first;
  } else {
    double target = uniform * total;
    if (sum > 0.0 && exclusive <= target && target < inclusive) {
      double running = exclusive;
      int token = last;  // the walk rounded below target: the chunk's last possible token
      for (int c = begin; c < end; c++) {
        float x = row[c] * inv;
        float w = x >= cut ? expf(x - m) : 0.0f;
        if (w > 0.0f) {
          running += w;
          if (running > target) {
            token = c;
            break;
          }
        }
      }
      chosen = token;
    }
    __syncthreads();
    int fallback = block_reduce(last, ints, Max());  // target >= total (rounding): the last token
    if (threadIdx.x == 0 && chosen < 0) chosen = fallback;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    ids[blockIdx.x] = chosen;
    logprobs[blockIdx.x] = (float)((double)(row[chosen] * inv) - ((double)m + log(total)));
  }
}
