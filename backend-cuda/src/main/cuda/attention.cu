// Attention over packed variable-length sequences (prefill) and over the paged KV cache (decode),
// with T5's relative position bias computed in the kernel.
//
// Both kernels use the same online softmax ("flash" style): keys are visited in tiles of 32, one
// key per lane; the warp keeps a running maximum m, a running denominator l and an output
// accumulator whose head dimensions are spread over the lanes (lane owns d = lane + 32 * i).
// A tile costs one warp max/sum, and each probability is broadcast with a shuffle while the lanes
// accumulate p * v over their dimensions.
#include "common.cuh"

#define MAX_HEAD_DIM 128
#define DIMS_PER_LANE (MAX_HEAD_DIM / WARP)
#define PREFILL_QUERIES 16  // per block: 4 warps x 4 queries
#define QUERIES_PER_WARP 4
#define ATTN_THREADS 128

// HuggingFace's T5Attention._relative_position_bucket for rel = kPos - qPos, step for step as
// dev.tandem.api.backend.PositionBias.bucket computes it: float32 division and product,
// the logarithm in double rounded to float (Java's (float) Math.log), truncation toward zero.
__device__ int t5_bucket(int rel, int bidirectional, int numBuckets, int maxDistance) {
  int bucket = 0;
  int n = numBuckets;
  if (bidirectional) {
    n /= 2;
    if (rel > 0) bucket += n;
    rel = abs(rel);
  } else {
    rel = -min(rel, 0);
  }
  int maxExact = n / 2;
  if (rel < maxExact) return bucket + rel;
  float num = (float)log((double)((float)rel / (float)maxExact));
  float den = (float)log((double)((float)maxDistance / (float)maxExact));
  float scaled = __fmul_rn(__fdiv_rn(num, den), (float)(n - maxExact));
  int large = maxExact + (int)scaled;
  return bucket + min(large, n - 1);
}

// For the tests: buckets of rel = relStart .. relStart + count - 1.
extern "C" __global__ void t5_bucket_table(int relStart, int count, int bidirectional,
                                           int numBuckets, int maxDistance, int* out) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < count) out[i] = t5_bucket(relStart + i, bidirectional, numBuckets, maxDistance);
}

struct Bias {
  const float* table;  // (numBuckets, numHeads), or null for no bias
  int numBuckets, maxDistance, bidirectional;
};

__device__ __forceinline__ float bias_value(const Bias& bias, int rel, int head, int numHeads) {
  if (bias.table == nullptr) return 0.0f;
  return bias.table[t5_bucket(rel, bias.bidirectional, bias.numBuckets, bias.maxDistance) *
                        numHeads + head];
}

// Online-softmax state of one query in one warp.
struct SoftmaxState {
  float m, l;
  float acc[DIMS_PER_LANE];
};

__device__ __forceinline__ void state_init(SoftmaxState& st) {
  st.m = -INFINITY;
  st.l = 0.0f;
#pragma unroll
  for (int i = 0; i < DIMS_PER_LANE; i++) st.acc[i] = 0.0f;
}

// Folds one tile of up to 32 keys into the state: s is this lane's score (-inf when masked),
// value(j, d) returns value row j's dimension d.
template <typename ValueAt>
__device__ __forceinline__ void state_update(SoftmaxState& st, float s, int headDim,
                                             int tileKeys, ValueAt value) {
  float tileMax = warp_max(s);
  if (tileMax == -INFINITY) return;  // the whole tile is masked (uniform across the warp)
  float mNew = fmaxf(st.m, tileMax);
  float p = s == -INFINITY ? 0.0f : expf(s - mNew);
  float correction = st.m == -INFINITY ? 0.0f : expf(st.m - mNew);
  st.l = st.l * correction + warp_sum(p);
  st.m = mNew;
  int lane = threadIdx.x % WARP;
#pragma unroll
  for (int i = 0; i < DIMS_PER_LANE; i++) st.acc[i] *= correction;
  for (int j = 0; j < tileKeys; j++) {
    float pj = __shfl_sync(0xffffffffu, p, j);
#pragma unroll
    for (int i = 0; i < DIMS_PER_LANE; i++) {
      int d = lane + i * WARP;
      if (d < headDim) st.acc[i] += pj * value(j, d);
    }
  }
}

__device__ __forceinline__ void state_store(const SoftmaxState& st, int headDim, float* dst) {
  int lane = threadIdx.x % WARP;
  float inv = st.l > 0.0f ? 1.0f / st.l : 0.0f;
#pragma unroll
  for (int i = 0; i < DIMS_PER_LANE; i++) {
    int d = lane + i * WARP;
    if (d < headDim) dst[d] = st.acc[i] * inv;
  }
}

// Merges the block's `parts` partial online-softmax states (maxima partM, denominators partL,
// accumulators partAcc[part * ld + d], in shared memory) into dst[0 .. headDim): each state is
// rescaled to the overall maximum. Every thread of the block takes part, after a __syncthreads.
__device__ __forceinline__ void merge_states(const float* partM, const float* partL,
                                             const float* partAcc, int ld, int parts, int headDim,
                                             float* __restrict__ dst) {
  float m = -INFINITY;
  for (int p = 0; p < parts; p++) m = fmaxf(m, partM[p]);
  float l = 0.0f;
  for (int p = 0; p < parts; p++) {
    if (partM[p] != -INFINITY) l += partL[p] * expf(partM[p] - m);
  }
  float inv = l > 0.0f ? 1.0f / l : 0.0f;
  for (int d = threadIdx.x; d < headDim; d += blockDim.x) {
    float sum = 0.0f;
    for (int p = 0; p < parts; p++) {
      if (partM[p] != -INFINITY) sum += partAcc[p * ld + d] * expf(partM[p] - m);
    }
    dst[d] = sum * inv;
  }
}

// Prefill attention over packed sequences: sequence s has queries q[qStarts[s] .. qStarts[s+1])
// and keys/values k, v[kStarts[s] .. kStarts[s+1]); rows hold numHeads * headDim values.
// causal: key j is visible to query i when j <= i (positions inside the sequence).
// Grid: (ceil(max query length / 16), numHeads, numSeqs); block: 128 threads.
// Shared memory (dynamic): q tile (16 x headDim), k tile (32 x (headDim + 1)), v tile (32 x headDim).
extern "C" __global__ void __launch_bounds__(ATTN_THREADS)
    prefill_attention(const float* __restrict__ q, const float* __restrict__ k,
                      const float* __restrict__ v, float* __restrict__ out,
                      const int* __restrict__ qStarts, const int* __restrict__ kStarts,
                      int numHeads, int headDim, float scale, int causal, const float* biasTable,
                      int numBuckets, int maxDistance, int bidirectional) {
  extern __shared__ float smem[];
  int seq = blockIdx.z, head = blockIdx.y;
  int qBegin = qStarts[seq], qLen = qStarts[seq + 1] - qBegin;
  int kBegin = kStarts[seq], kLen = kStarts[seq + 1] - kBegin;
  int q0 = blockIdx.x * PREFILL_QUERIES;
  if (q0 >= qLen) return;
  Bias bias{biasTable, numBuckets, maxDistance, bidirectional};
  int rowStride = numHeads * headDim;
  int kLd = headDim + 1;  // padding: lane j reads row j, so rows must fall in different banks
  float* qs = smem;
  float* ks = qs + PREFILL_QUERIES * headDim;
  float* vs = ks + WARP * kLd;
  int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP;

  for (int e = threadIdx.x; e < PREFILL_QUERIES * headDim; e += ATTN_THREADS) {
    int r = e / headDim, d = e % headDim;
    qs[e] = q0 + r < qLen ? q[(long long)(qBegin + q0 + r) * rowStride + head * headDim + d] : 0.0f;
  }
  SoftmaxState st[QUERIES_PER_WARP];
#pragma unroll
  for (int i = 0; i < QUERIES_PER_WARP; i++) state_init(st[i]);

  int kEnd = causal ? min(kLen, q0 + PREFILL_QUERIES) : kLen;
  for (int kt = 0; kt < kEnd; kt += WARP) {
    int tileKeys = min(WARP, kLen - kt);
    __syncthreads();
    for (int e = threadIdx.x; e < WARP * headDim; e += ATTN_THREADS) {
      int r = e / headDim, d = e % headDim;
      bool in = r < tileKeys;
      long long src = (long long)(kBegin + kt + r) * rowStride + head * headDim + d;
      ks[r * kLd + d] = in ? k[src] : 0.0f;
      vs[r * headDim + d] = in ? v[src] : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int i = 0; i < QUERIES_PER_WARP; i++) {
      int qi = warp * QUERIES_PER_WARP + i;
      int qPos = q0 + qi;
      if (qPos >= qLen) break;  // uniform across the warp
      int kPos = kt + lane;
      float s = -INFINITY;
      if (lane < tileKeys && (!causal || kPos <= qPos)) {
        const float* qRow = qs + qi * headDim;
        const float* kRow = ks + lane * kLd;
        float dot = 0.0f;
        for (int d = 0; d < headDim; d++) dot += qRow[d] * kRow[d];
        s = dot * scale + bias_value(bias, kPos - qPos, head, numHeads);
      }
      state_update(st[i], s, headDim, tileKeys, [&](int j, int d) { return vs[j * headDim + d]; });
    }
  }
#pragma unroll
  for (int i = 0; i < QUERIES_PER_WARP; i++) {
    int qPos = q0 + warp * QUERIES_PER_WARP + i;
    if (qPos < qLen) {
      state_store(st[i], headDim, out + (long long)(qBegin + qPos) * rowStride + head * headDim);
    }
  }
}

// Decode attention over the paged cache: one query row per sequence, keys 0 .. kvLens[s] - 1 of
// the sequence's block table (self-attention: its self table, cross-attention: its group's cross
// table). The query's position is queryLens[s] - 1 (the decoder length), used only by the bias.
// Self-attention passes the new token's k / v rows and slots: each block first writes its head's
// slice into the pools (one launch less per layer than a separate cache write), and
// __syncthreads makes those writes visible to the block before it reads the keys. Cross-attention
// passes null.
// Pools are (numBlocks, blockSize, numHeads, headDim). Grid: (numSeqs, numHeads); block: 128
// threads, warp w taking key tiles w, w + 4, ...; the four partial softmax states are merged at
// the end. Each lane reads its own key row straight from the pool (float4 when aligned), and the
// value rows are read coalesced, lanes over dimensions.
extern "C" __global__ void __launch_bounds__(ATTN_THREADS)
    paged_decode_attention(const float* __restrict__ q, float* __restrict__ out,
                           float* kPool, float* vPool,
                           const int* __restrict__ blockTables, int tableStride,
                           const int* __restrict__ kvLens, const int* __restrict__ queryLens,
                           int blockSize, int numHeads, int headDim, float scale,
                           const float* biasTable, int numBuckets, int maxDistance,
                           int bidirectional, const float* newK, const float* newV,
                           const int* newSlots) {
  __shared__ float qs[MAX_HEAD_DIM];
  __shared__ float partM[ATTN_THREADS / WARP], partL[ATTN_THREADS / WARP];
  __shared__ float partAcc[ATTN_THREADS / WARP][MAX_HEAD_DIM];
  int seq = blockIdx.x, head = blockIdx.y;
  int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP, warps = ATTN_THREADS / WARP;
  int kvLen = kvLens[seq];
  int qPos = queryLens[seq] - 1;
  int rowStride = numHeads * headDim;
  const int* table = blockTables + (long long)seq * tableStride;
  Bias bias{biasTable, numBuckets, maxDistance, bidirectional};
  for (int d = threadIdx.x; d < headDim; d += ATTN_THREADS) {
    long long src = (long long)seq * rowStride + head * headDim + d;
    qs[d] = q[src];
    if (newK != nullptr && newSlots[seq] >= 0) {
      long long dst = (long long)newSlots[seq] * rowStride + head * headDim + d;
      // not __restrict__ / const: the pools are read after this write, so no read-only cache
      kPool[dst] = newK[src];
      vPool[dst] = newV[src];
    }
  }
  __syncthreads();
  bool vec4 = (headDim & 3) == 0;

  SoftmaxState st;
  state_init(st);
  for (int kt = warp * WARP; kt < kvLen; kt += warps * WARP) {
    int tileKeys = min(WARP, kvLen - kt);
    int kPos = kt + lane;
    float s = -INFINITY;
    if (lane < tileKeys) {
      long long slot = (long long)table[kPos / blockSize] * blockSize + kPos % blockSize;
      const float* kRow = kPool + (slot * numHeads + head) * headDim;
      float dot = 0.0f;
      if (vec4) {
        for (int d = 0; d < headDim; d += 4) {
          float4 kv = *reinterpret_cast<const float4*>(kRow + d);
          dot += qs[d] * kv.x + qs[d + 1] * kv.y + qs[d + 2] * kv.z + qs[d + 3] * kv.w;
        }
      } else {
        for (int d = 0; d < headDim; d++) dot += qs[d] * kRow[d];
      }
      s = dot * scale + bias_value(bias, kPos - qPos, head, numHeads);
    }
    state_update(st, s, headDim, tileKeys, [&](int j, int d) {
      int key = kt + j;
      long long slot = (long long)table[key / blockSize] * blockSize + key % blockSize;
      return vPool[(slot * numHeads + head) * headDim + d];
    });
  }

  // Merge the warps' states: rescale each to the global maximum.
  if (lane == 0) {
    partM[warp] = st.m;
    partL[warp] = st.l;
  }
#pragma unroll
  for (int i = 0; i < DIMS_PER_LANE; i++) {
    int d = lane + i * WARP;
    if (d < headDim) partAcc[warp][d] = st.acc[i];
  }
  __syncthreads();
  merge_states(partM, partL, &partAcc[0][0], MAX_HEAD_DIM, warps, headDim,
               out + (long long)seq * rowStride + head * headDim);
}

// The same decode attention for head dims of 64 and 128 (T5, BART, Marian, Whisper), with a
// half-warp per key instead of a lane per key: the 16 lanes of a half-warp read a key row (and
// then its value row) together, coalesced, each lane 4 * VEC consecutive dimensions, and sum their
// partial dot products with shuffles. Each half-warp keeps 4 keys' rows in flight per step, so a
// warp waits on 8 key rows and 8 value rows at once, where the lane-per-key kernel read each value
// row after the previous one. Same arguments, grid and block as paged_decode_attention (headDim
// must be 64 * VEC; q, out, the pools and newK / newV 16-byte aligned).
#define HALF_WARP 16
#define KEYS_PER_HALF_WARP 4
#define HALF_WARPS (ATTN_THREADS / HALF_WARP)

__device__ __forceinline__ float half_warp_sum(float v) {
#pragma unroll
  for (int o = HALF_WARP / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float dot4(float4 a, float4 b) {
  return a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w;
}

template <int VEC>
__device__ __forceinline__ void paged_decode_half_warps(
    const float* __restrict__ q, float* __restrict__ out, float* kPool, float* vPool,
    const int* __restrict__ blockTables, int tableStride, const int* __restrict__ kvLens,
    const int* __restrict__ queryLens, int blockSize, int numHeads, float scale, Bias bias,
    const float* newK, const float* newV, const int* newSlots) {
  constexpr int HEAD_DIM = 64 * VEC;
  constexpr int STEP = 2 * KEYS_PER_HALF_WARP;  // keys per warp per step
  __shared__ float partM[HALF_WARPS], partL[HALF_WARPS];
  __shared__ __align__(16) float partAcc[HALF_WARPS][HEAD_DIM];
  int seq = blockIdx.x, head = blockIdx.y;
  int warp = threadIdx.x / WARP, warps = ATTN_THREADS / WARP;
  int group = threadIdx.x / HALF_WARP, sub = threadIdx.x % HALF_WARP;
  int half = group % 2;  // which half of its warp
  int kvLen = kvLens[seq];
  int qPos = queryLens[seq] - 1;
  int rowStride = numHeads * HEAD_DIM;
  long long qRow = (long long)seq * rowStride + head * HEAD_DIM;
  const int* table = blockTables + (long long)seq * tableStride;
  if (newK != nullptr && newSlots[seq] >= 0) {
    long long dst = (long long)newSlots[seq] * rowStride + head * HEAD_DIM;
    for (int d = threadIdx.x; d < HEAD_DIM; d += ATTN_THREADS) {
      kPool[dst + d] = newK[qRow + d];
      vPool[dst + d] = newV[qRow + d];
    }
  }
  __syncthreads();

  // This lane's dimensions: 4 at 4 * (sub + 16 * v) for v < VEC.
  float4 qv[VEC];
#pragma unroll
  for (int v = 0; v < VEC; v++) {
    qv[v] = *reinterpret_cast<const float4*>(q + qRow + 4 * (sub + HALF_WARP * v));
  }
  float m = -INFINITY, l = 0.0f;
  float4 acc[VEC];
#pragma unroll
  for (int v = 0; v < VEC; v++) acc[v] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);

  // Warp-uniform loop (the shuffles need both halves): warp w takes keys [base, base + 8), its
  // half h the four from base + 4h.
  for (int base = warp * STEP; base < kvLen; base += warps * STEP) {
    float s[KEYS_PER_HALF_WARP];
    float4 vals[KEYS_PER_HALF_WARP][VEC];
#pragma unroll
    for (int u = 0; u < KEYS_PER_HALF_WARP; u++) {
      int key = base + half * KEYS_PER_HALF_WARP + u;
      float partial = 0.0f;
#pragma unroll
      for (int v = 0; v < VEC; v++) vals[u][v] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      if (key < kvLen) {
        long long slot = (long long)table[key / blockSize] * blockSize + key % blockSize;
        long long row = (slot * numHeads + head) * HEAD_DIM;
#pragma unroll
        for (int v = 0; v < VEC; v++) {
          int d = 4 * (sub + HALF_WARP * v);
          partial += dot4(qv[v], *reinterpret_cast<const float4*>(kPool + row + d));
          vals[u][v] = *reinterpret_cast<const float4*>(vPool + row + d);
        }
      }
      s[u] = partial;
    }
#pragma unroll
    for (int u = 0; u < KEYS_PER_HALF_WARP; u++) {
      int key = base + half * KEYS_PER_HALF_WARP + u;
      float dot = half_warp_sum(s[u]);  // every lane of the warp takes part
      s[u] = key < kvLen ? dot * scale + bias_value(bias, key - qPos, head, numHeads) : -INFINITY;
    }
    float stepMax = s[0];
#pragma unroll
    for (int u = 1; u < KEYS_PER_HALF_WARP; u++) stepMax = fmaxf(stepMax, s[u]);
    if (stepMax == -INFINITY) continue;  // no key of this half-warp in range (no shuffles below)
    float mNew = fmaxf(m, stepMax);
    float correction = m == -INFINITY ? 0.0f : expf(m - mNew);
    l *= correction;
#pragma unroll
    for (int v = 0; v < VEC; v++) {
      acc[v].x *= correction;
      acc[v].y *= correction;
      acc[v].z *= correction;
      acc[v].w *= correction;
    }
#pragma unroll
    for (int u = 0; u < KEYS_PER_HALF_WARP; u++) {
      float p = s[u] == -INFINITY ? 0.0f : expf(s[u] - mNew);
      l += p;
#pragma unroll
      for (int v = 0; v < VEC; v++) {
        acc[v].x += p * vals[u][v].x;
        acc[v].y += p * vals[u][v].y;
        acc[v].z += p * vals[u][v].z;
        acc[v].w += p * vals[u][v].w;
      }
    }
    m = mNew;
  }

  // Merge the half-warps' states: rescale each to the global maximum.
  if (sub == 0) {
    partM[group] = m;
    partL[group] = l;
  }
#pragma unroll
  for (int v = 0; v < VEC; v++) {
    *reinterpret_cast<float4*>(&partAcc[group][4 * (sub + HALF_WARP * v)]) = acc[v];
  }
  __syncthreads();
  merge_states(partM, partL, &partAcc[0][0], HEAD_DIM, HALF_WARPS, HEAD_DIM, out + qRow);
}

#define PAGED_DECODE_HALF_WARPS(name, VEC)                                                      \
  extern "C" __global__ void __launch_bounds__(ATTN_THREADS) name(                             \
      const float* __restrict__ q, float* __restrict__ out, float* kPool, float* vPool,        \
      const int* __restrict__ blockTables, int tableStride, const int* __restrict__ kvLens,    \
      const int* __restrict__ queryLens, int blockSize, int numHeads, int headDim, float scale, \
      const float* biasTable, int numBuckets, int maxDistance, int bidirectional,              \
      const float* newK, const float* newV, const int* newSlots) {                             \
    Bias bias{biasTable, numBuckets, maxDistance, bidirectional};                              \
    paged_decode_half_warps<VEC>(q, out, kPool, vPool, blockTables, tableStride, kvLens,      \
                                 queryLens, blockSize, numHeads, scale, bias, newK, newV,      \
                                 newSlots);                                                    \
  }

PAGED_DECODE_HALF_WARPS(paged_decode_attention_64, 1)
PAGED_DECODE_HALF_WARPS(paged_decode_attention_128, 2)
