// Element-wise kernels: they stream memory once, so a grid-stride loop over 64-bit indexes is all
// they need.
#include "common.cuh"

#define GRID_STRIDE(i, count) \
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < (count); \
       i += (long long)gridDim.x * blockDim.x)

extern "C" __global__ void add_f32(const float* a, const float* b, float* out, long long count) {
  GRID_STRIDE(i, count) out[i] = a[i] + b[i];
}

extern "C" __global__ void multiply_f32(const float* a, const float* b, float* out, long long count) {
  GRID_STRIDE(i, count) out[i] = a[i] * b[i];
}

extern "C" __global__ void scale_f32(const float* x, float factor, float* out, long long count) {
  GRID_STRIDE(i, count) out[i] = x[i] * factor;
}

// kind: 0 ReLU, 1 exact (erf) GELU, 2 tanh GELU, 3 SiLU; the order of dev.tandem.api.backend.Activation.
extern "C" __global__ void activation_f32(int kind, const float* x, float* out, long long count) {
  GRID_STRIDE(i, count) {
    float v = x[i];
    float r;
    switch (kind) {
      case 0: r = fmaxf(v, 0.0f); break;
      case 1: r = 0.5f * v * erfcf(-v * 0.70710678118654752f); break;  // erfc keeps the negative tail
      case 2: {
        float inner = 0.7978845608028654f * (v + 0.044715f * v * v * v);
        r = 0.5f * v * (1.0f + tanhf(inner));
        break;
      }
      default: r = v / (1.0f + expf(-v)); break;
    }
    out[i] = r;
  }
}

// out(n, dim) = table[ids[row]] * scale: one block row per token, threads over the row.
extern "C" __global__ void embedding_f32(const int* ids, const float* table, int dim, float scale,
                                         float* out) {
  long long row = blockIdx.x;
  const float* src = table + (long long)ids[row] * dim;
  float* dst = out + row * dim;
  for (int c = threadIdx.x; c < dim; c += blockDim.x) dst[c] = src[c] * scale;
}
