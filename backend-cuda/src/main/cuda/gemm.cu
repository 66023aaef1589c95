// y(M, N) = x(M, K) * w(N, K)^T + bias(N): nn.Linear with both operands K-contiguous ("NT").
//
// Three kernels, chosen per call by the host (CudaLinear):
//  - gemv_nt: M <= 8 (decode at small batch). Memory-bound on w, so one warp streams one row of w
//    with float4 loads and reuses it for every row of x.
//  - gemm_nt_<BM>x<BN>[_staged]: tiled SGEMM, shared-memory tiles of BK = 8 (staged 64x64 and
//    32x32: 16) along K, each thread accumulating a TM x TN register block; 128x128 for large M, 64x64 and 32x32 to
//    keep enough blocks in flight when M or N is small. The staged ones fetch the next tiles while
//    computing on the current ones.
//  - gemm_nt_64x64_splitk + splitk_reduce: when even 32x32 tiles cannot fill the GPU (decode
//    batches: M = 32..256 against N = 512..2048), the 64x64 tiles split K into gridDim.z chunks,
//    each writing its partial tile to a workspace, and the reduce adds them in a fixed order
//    (deterministic) plus the bias.
//  - gemm_nt_tf32: tensor cores (wmma m16n16k8, TF32 inputs, float32 accumulation), sm_80+ only,
//    used only when the backend is configured with cuda.tf32=true.
#include <mma.h>
#include "common.cuh"

#define GEMV_MAX_M 8
#define GEMV_WARPS 8

extern "C" __global__ void gemv_nt(const float* __restrict__ x, const float* __restrict__ w,
                                   const float* __restrict__ bias, float* __restrict__ y, int M,
                                   int N, int K) {
  int lane = threadIdx.x % WARP;
  int n = blockIdx.x * GEMV_WARPS + threadIdx.x / WARP;
  if (n >= N) return;
  const float* wRow = w + (long long)n * K;
  float acc[GEMV_MAX_M];
#pragma unroll
  for (int m = 0; m < GEMV_MAX_M; m++) acc[m] = 0.0f;
  if ((K & 3) == 0) {
    // 128-bit loads: a warp reads 512 contiguous bytes of w per iteration.
    const float4* w4 = reinterpret_cast<const float4*>(wRow);
    for (int k4 = lane; k4 < K / 4; k4 += WARP) {
      float4 wv = w4[k4];
#pragma unroll
      for (int m = 0; m < GEMV_MAX_M; m++) {
        if (m < M) {
          float4 xv = reinterpret_cast<const float4*>(x + (long long)m * K)[k4];
          acc[m] += wv.x * xv.x + wv.y * xv.y + wv.z * xv.z + wv.w * xv.w;
        }
      }
    }
  } else {
    for (int k = lane; k < K; k += WARP) {
      float wv = wRow[k];
#pragma unroll
      for (int m = 0; m < GEMV_MAX_M; m++) {
        if (m < M) acc[m] += wv * x[(long long)m * K + k];
      }
    }
  }
  float b = bias != nullptr ? bias[n] : 0.0f;
#pragma unroll
  for (int m = 0; m < GEMV_MAX_M; m++) {
    if (m < M) {
      float s = warp_sum(acc[m]);
      if (lane == 0) y[(long long)m * N + n] = s + b;
    }
  }
}

// Row values [gc, gc + 4) at p (= row + gc), zero from kEnd on; one 128-bit load when the row
// stride allows (vec4) and all four are in range.
__device__ __forceinline__ float4 load4(const float* __restrict__ p, int gc, int kEnd, bool vec4) {
  if (vec4 && gc + 3 < kEnd) return *reinterpret_cast<const float4*>(p);
  float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  if (gc < kEnd) v.x = p[0];
  if (gc + 1 < kEnd) v.y = p[1];
  if (gc + 2 < kEnd) v.z = p[2];
  if (gc + 3 < kEnd) v.w = p[3];
  return v;
}

// One thread's share of a (ROWS x BK) tile of a K-contiguous matrix: fetched from global memory
// into registers, then stored into shared memory transposed, as tile[k][row], so the compute loop
// reads TM (TN) consecutive rows with one vector load.
template <int ROWS, int BK, int THREADS>
struct TileStage {
  static constexpr int QUADS = ROWS * BK / 4;
  static constexpr int PER_THREAD = (QUADS + THREADS - 1) / THREADS;
  float4 v[PER_THREAD];

  __device__ __forceinline__ void fetch(const float* __restrict__ src, int rows, int K, int kEnd,
                                        int row0, int k0, bool vec4) {
#pragma unroll
    for (int i = 0; i < PER_THREAD; i++) {
      int q = threadIdx.x + i * THREADS;
      int r = q / (BK / 4);
      int c = (q % (BK / 4)) * 4;
      int gr = row0 + r, gc = k0 + c;
      v[i] = q < QUADS && gr < rows ? load4(src + (long long)gr * K + gc, gc, kEnd, vec4)
                                    : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    }
  }

  __device__ __forceinline__ void store(float (*tile)[ROWS + 4]) const {
#pragma unroll
    for (int i = 0; i < PER_THREAD; i++) {
      int q = threadIdx.x + i * THREADS;
      if (q < QUADS) {
        int r = q / (BK / 4);
        int c = (q % (BK / 4)) * 4;
        tile[c][r] = v[i].x;
        tile[c + 1][r] = v[i].y;
        tile[c + 2][r] = v[i].z;
        tile[c + 3][r] = v[i].w;
      }
    }
  }
};

// y tile = x · wᵀ over k in [kBegin, kEnd) (+ bias when not null); K is the rows' stride.
// STAGED: the next tiles' global loads are issued before the current tiles' arithmetic, so their
// latency hides behind it (a block of these small decode GEMMs has few warps to switch to);
// otherwise they are issued after it. Either way every output sums its k terms in increasing k
// order, so both give the same bits.
template <int BM, int BN, int BK, int TM, int TN, bool STAGED>
__device__ __forceinline__ void gemm_nt_tiled(const float* __restrict__ x,
                                              const float* __restrict__ w,
                                              const float* __restrict__ bias,
                                              float* __restrict__ y, int M, int N, int K,
                                              int kBegin, int kEnd) {
  constexpr int THREADS = (BM / TM) * (BN / TN);
  // +4 keeps rows 16-byte aligned for float4 reads and staggers the transposed stores.
  __shared__ __align__(16) float xs[BK][BM + 4];
  __shared__ __align__(16) float ws[BK][BN + 4];
  int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  int tRow = threadIdx.x / (BN / TN), tCol = threadIdx.x % (BN / TN);
  bool vec4 = (K & 3) == 0;
  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; i++)
#pragma unroll
    for (int j = 0; j < TN; j++) acc[i][j] = 0.0f;

  TileStage<BM, BK, THREADS> xStage;
  TileStage<BN, BK, THREADS> wStage;
  xStage.fetch(x, M, K, kEnd, m0, kBegin, vec4);
  wStage.fetch(w, N, K, kEnd, n0, kBegin, vec4);
  for (int k0 = kBegin; k0 < kEnd; k0 += BK) {
    xStage.store(xs);
    wStage.store(ws);
    __syncthreads();
    bool more = k0 + BK < kEnd;
    if (STAGED && more) {
      xStage.fetch(x, M, K, kEnd, m0, k0 + BK, vec4);
      wStage.fetch(w, N, K, kEnd, n0, k0 + BK, vec4);
    }
#pragma unroll
    for (int k = 0; k < BK; k++) {
      float a[TM], b[TN];
#pragma unroll
      for (int i = 0; i < TM; i++) a[i] = xs[k][tRow * TM + i];
#pragma unroll
      for (int j = 0; j < TN; j++) b[j] = ws[k][tCol * TN + j];
      // TM x TN independent accumulators: the outer product keeps the FMA pipes full.
#pragma unroll
      for (int i = 0; i < TM; i++)
#pragma unroll
        for (int j = 0; j < TN; j++) acc[i][j] += a[i] * b[j];
    }
    __syncthreads();
    if (!STAGED && more) {
      xStage.fetch(x, M, K, kEnd, m0, k0 + BK, vec4);
      wStage.fetch(w, N, K, kEnd, n0, k0 + BK, vec4);
    }
  }
#pragma unroll
  for (int i = 0; i < TM; i++) {
    int m = m0 + tRow * TM + i;
    if (m >= M) continue;
#pragma unroll
    for (int j = 0; j < TN; j++) {
      int n = n0 + tCol * TN + j;
      if (n < N) y[(long long)m * N + n] = acc[i][j] + (bias != nullptr ? bias[n] : 0.0f);
    }
  }
}

// Entry points: <name> (BK = 8, loads after the arithmetic, as measured on the H100) and
// <name>_staged (loads ahead of it, BK = STAGED_BK; option cuda.gemm=staged, the default), at two
// blocks per multiprocessor at least (128x128 staged with BK = 16 would need more registers).
#define GEMM_NT(name, BM, BN, TM, TN, STAGED_BK)                                               \
  extern "C" __global__ void __launch_bounds__(256)                                            \
      name(const float* x, const float* w, const float* bias, float* y, int M, int N, int K) { \
    gemm_nt_tiled<BM, BN, 8, TM, TN, false>(x, w, bias, y, M, N, K, 0, K);                     \
  }                                                                                            \
  extern "C" __global__ void __launch_bounds__(256, 2) name##_staged(                          \
      const float* x, const float* w, const float* bias, float* y, int M, int N, int K) {      \
    gemm_nt_tiled<BM, BN, STAGED_BK, TM, TN, true>(x, w, bias, y, M, N, K, 0, K);              \
  }

GEMM_NT(gemm_nt_128x128, 128, 128, 8, 8, 8)
GEMM_NT(gemm_nt_64x64, 64, 64, 4, 4, 16)
GEMM_NT(gemm_nt_32x32, 32, 32, 2, 2, 16)

// Split K: block (x, y, z) computes its 64x64 tile over K chunk z of kChunk (a multiple of 8)
// into partial + z * M * N, without the bias.
extern "C" __global__ void __launch_bounds__(256)
    gemm_nt_64x64_splitk(const float* x, const float* w, float* partial, int M, int N, int K,
                         int kChunk) {
  int kBegin = blockIdx.z * kChunk;
  int kEnd = min(K, kBegin + kChunk);
  gemm_nt_tiled<64, 64, 8, 4, 4, false>(x, w, nullptr, partial + (long long)blockIdx.z * M * N,
                                        M, N, K, kBegin, kEnd);
}

extern "C" __global__ void __launch_bounds__(256)
    gemm_nt_64x64_splitk_staged(const float* x, const float* w, float* partial, int M, int N,
                                int K, int kChunk) {
  int kBegin = blockIdx.z * kChunk;
  int kEnd = min(K, kBegin + kChunk);
  gemm_nt_tiled<64, 64, 16, 4, 4, true>(x, w, nullptr, partial + (long long)blockIdx.z * M * N,
                                        M, N, K, kBegin, kEnd);
}

// y[i] = sum over z = 0..splits-1 of partial[z * M * N + i], in that order, + bias[i % N].
extern "C" __global__ void splitk_reduce(const float* __restrict__ partial,
                                         const float* __restrict__ bias, float* __restrict__ y,
                                         int M, int N, int splits) {
  long long count = (long long)M * N;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < count;
       i += (long long)gridDim.x * blockDim.x) {
    float s = 0.0f;
    for (int z = 0; z < splits; z++) s += partial[z * count + i];
    y[i] = s + (bias != nullptr ? bias[i % N] : 0.0f);
  }
}

// TF32 tensor cores: a 64x64 block tile, 4 warps of 32x32 (2x2 wmma 16x16 fragments), BK = 32.
#define TC_BM 64
#define TC_BN 64
#define TC_BK 32
#define TC_LD (TC_BK + 4)

extern "C" __global__ void __launch_bounds__(128)
    gemm_nt_tf32(const float* __restrict__ x, const float* __restrict__ w,
                 const float* __restrict__ bias, float* __restrict__ y, int M, int N, int K) {
#if __CUDA_ARCH__ >= 800
  using namespace nvcuda;
  // The operand tiles, then reused for the 64x64 output tile.
  __shared__ __align__(32) float smem[2 * TC_BM * TC_LD];
  float* xs = smem;                   // (64 rows of x, BK)
  float* ws = smem + TC_BM * TC_LD;   // (64 rows of w, BK) = w^T tile stored column-major
  int m0 = blockIdx.y * TC_BM, n0 = blockIdx.x * TC_BN;
  int warp = threadIdx.x / WARP;
  int wm = (warp / 2) * 32, wn = (warp % 2) * 32;
  bool vec4 = (K & 3) == 0;
  wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc[2][2];
#pragma unroll
  for (int i = 0; i < 2; i++)
#pragma unroll
    for (int j = 0; j < 2; j++) wmma::fill_fragment(acc[i][j], 0.0f);

  for (int k0 = 0; k0 < K; k0 += TC_BK) {
    for (int q = threadIdx.x; q < TC_BM * TC_BK / 4; q += 128) {
      int r = q / (TC_BK / 4), c = (q % (TC_BK / 4)) * 4, gc = k0 + c;
#pragma unroll
      for (int operand = 0; operand < 2; operand++) {
        const float* src = operand == 0 ? x : w;
        int gr = (operand == 0 ? m0 : n0) + r, rows = operand == 0 ? M : N;
        float4 v = gr < rows ? load4(src + (long long)gr * K + gc, gc, K, vec4)
                             : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        float* dst = (operand == 0 ? xs : ws) + r * TC_LD + c;
        dst[0] = v.x;
        dst[1] = v.y;
        dst[2] = v.z;
        dst[3] = v.w;
      }
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < TC_BK; kk += 8) {
      wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> a[2];
      wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major> b[2];
#pragma unroll
      for (int i = 0; i < 2; i++) {
        wmma::load_matrix_sync(a[i], xs + (wm + i * 16) * TC_LD + kk, TC_LD);
#pragma unroll
        for (int t = 0; t < a[i].num_elements; t++) a[i].x[t] = wmma::__float_to_tf32(a[i].x[t]);
        wmma::load_matrix_sync(b[i], ws + (wn + i * 16) * TC_LD + kk, TC_LD);
#pragma unroll
        for (int t = 0; t < b[i].num_elements; t++) b[i].x[t] = wmma::__float_to_tf32(b[i].x[t]);
      }
#pragma unroll
      for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 2; j++) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
  // Stage the 64x64 result in shared memory (ld 64 + 4) to apply bias and bounds.
  constexpr int LDC = TC_BN + 4;
  float* cs = smem;
#pragma unroll
  for (int i = 0; i < 2; i++)
#pragma unroll
    for (int j = 0; j < 2; j++)
      wmma::store_matrix_sync(cs + (wm + i * 16) * LDC + wn + j * 16, acc[i][j], LDC,
                              wmma::mem_row_major);
  __syncthreads();
  for (int e = threadIdx.x; e < TC_BM * TC_BN; e += 128) {
    int r = e / TC_BN, c = e % TC_BN, m = m0 + r, n = n0 + c;
    if (m < M && n < N) y[(long long)m * N + n] = cs[r * LDC + c] + (bias != nullptr ? bias[n] : 0.0f);
  }
#else
  // Tensor-core TF32 needs sm_80; the host refuses cuda.tf32=true below compute capability 8.0.
  __trap();
#endif
}
