// The CUDA C++ that Tandem's kernels use, for the host compiler: the kernels in
// backend-cuda/src/main/cuda/*.cu compile unchanged against this header (after build.sh rewrites
// `extern __shared__` arrays) and run on the CPU, each CUDA thread a fiber (runtime.cpp). Blocks
// run one after another, so `__shared__` variables become function-local statics.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __shared__ static

struct uint3 {
  unsigned int x, y, z;
};
struct dim3 {
  unsigned int x, y, z;
};
struct __attribute__((aligned(16))) float4 {
  float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

namespace emu {
const uint3& thread_idx();
extern uint3 block_idx;
extern dim3 block_dim, grid_dim;
void syncthreads();
// Every live lane of the calling thread's warp passes `mine`; each gets lane `src`'s value.
uint64_t shuffle(uint64_t mine, int src);
[[noreturn]] void trap();
void* dynamic_shared();
// Fills a __shared__ variable with NaN bytes, once per block (the first thread to declare it).
void poison_shared(void* p, size_t bytes);

inline int lane() {
  const uint3& t = thread_idx();
  return (int)((t.z * block_dim.y + t.y) * block_dim.x + t.x) % 32;
}

template <typename T>
T shuffle_value(T v, int src) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "shuffle of a scalar");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  bits = shuffle(bits, src);
  T out;
  std::memcpy(&out, &bits, sizeof(T));
  return out;
}
}  // namespace emu

#define threadIdx (::emu::thread_idx())
#define blockIdx (::emu::block_idx)
#define blockDim (::emu::block_dim)
#define gridDim (::emu::grid_dim)

inline void __syncthreads() { emu::syncthreads(); }
[[noreturn]] inline void __trap() { emu::trap(); }

// Lane arithmetic as the PTX shfl instruction defines it for a segment of `width` lanes.
template <typename T>
T __shfl_sync(unsigned, T v, int src, int width = 32) {
  int lane = emu::lane();
  return emu::shuffle_value(v, (lane & ~(width - 1)) + (src & (width - 1)));
}
template <typename T>
T __shfl_xor_sync(unsigned, T v, int laneMask, int width = 32) {
  int lane = emu::lane();
  int src = lane ^ laneMask;
  if (src >= ((lane & ~(width - 1)) + width)) src = lane;
  return emu::shuffle_value(v, src);
}
template <typename T>
T __shfl_up_sync(unsigned, T v, unsigned delta, int width = 32) {
  int lane = emu::lane();
  int src = (lane & (width - 1)) >= (int)delta ? lane - (int)delta : lane;
  return emu::shuffle_value(v, src);
}
template <typename T>
T __shfl_down_sync(unsigned, T v, unsigned delta, int width = 32) {
  int lane = emu::lane();
  int src = (lane & (width - 1)) + (int)delta < width ? lane + (int)delta : lane;
  return emu::shuffle_value(v, src);
}

// Device overloads CUDA provides: min / max of any two arithmetic types, fast-math spellings.
template <typename A, typename B>
inline std::common_type_t<A, B> min(A a, B b) {
  return b < a ? b : a;
}
template <typename A, typename B>
inline std::common_type_t<A, B> max(A a, B b) {
  return a < b ? b : a;
}
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline unsigned __float_as_uint(float x) {
  unsigned u;
  std::memcpy(&u, &x, 4);
  return u;
}
inline float __uint_as_float(unsigned u) {
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}
