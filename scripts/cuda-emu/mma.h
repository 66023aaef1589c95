// nvcuda::wmma as the TF32 GEMM kernel uses it, for the emulator. On a GPU a fragment is spread
// over the 32 lanes of a warp and loads, stores and mma_sync are warp-collective; here every lane
// holds and computes the whole tile, which leaves the same tile in memory. float accumulation in
// k order; TF32 rounding as cvt.rna.tf32.f32 (to nearest, ties away from zero).
#pragma once

namespace nvcuda {
namespace wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
namespace precision {
struct tf32 {};
}  // namespace precision
enum layout_t { mem_row_major, mem_col_major };

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment;
template <int M, int N, int K, typename Layout>
struct fragment<matrix_a, M, N, K, precision::tf32, Layout> {  // (M, K)
  static constexpr int num_elements = M * K;
  float x[M * K];
};
template <int M, int N, int K, typename Layout>
struct fragment<matrix_b, M, N, K, precision::tf32, Layout> {  // (K, N)
  static constexpr int num_elements = K * N;
  float x[K * N];
};
template <int M, int N, int K>
struct fragment<accumulator, M, N, K, float, void> {  // (M, N)
  static constexpr int num_elements = M * N;
  float x[M * N];
};

inline float __float_to_tf32(float v) {
  unsigned bits = __float_as_uint(v);
  if ((bits & 0x7f800000u) != 0x7f800000u) bits = (bits + 0x1000u) & 0xffffe000u;
  return __uint_as_float(bits);
}

template <int M, int N, int K>
void fill_fragment(fragment<accumulator, M, N, K, float>& f, float v) {
  for (float& e : f.x) e = v;
}
template <int M, int N, int K>
void load_matrix_sync(fragment<matrix_a, M, N, K, precision::tf32, row_major>& f, const float* p,
                      unsigned ldm) {
  for (int i = 0; i < M; i++)
    for (int k = 0; k < K; k++) f.x[i * K + k] = p[i * ldm + k];
}
template <int M, int N, int K>
void load_matrix_sync(fragment<matrix_b, M, N, K, precision::tf32, col_major>& f, const float* p,
                      unsigned ldm) {
  for (int k = 0; k < K; k++)
    for (int j = 0; j < N; j++) f.x[k * N + j] = p[j * ldm + k];
}
template <int M, int N, int K, typename LA, typename LB>
void mma_sync(fragment<accumulator, M, N, K, float>& d,
              const fragment<matrix_a, M, N, K, precision::tf32, LA>& a,
              const fragment<matrix_b, M, N, K, precision::tf32, LB>& b,
              const fragment<accumulator, M, N, K, float>& c) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      float s = c.x[i * N + j];
      for (int k = 0; k < K; k++) s += a.x[i * K + k] * b.x[k * N + j];
      d.x[i * N + j] = s;
    }
}
template <int M, int N, int K>
void store_matrix_sync(float* p, const fragment<accumulator, M, N, K, float>& f, unsigned ldm,
                       layout_t layout) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      if (layout == mem_row_major) {
        p[i * ldm + j] = f.x[i * N + j];
      } else {
        p[j * ldm + i] = f.x[i * N + j];
      }
    }
}

}  // namespace wmma
}  // namespace nvcuda
