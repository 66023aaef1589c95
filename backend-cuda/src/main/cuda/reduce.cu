// Row reductions: one thread block per row of (n, dim).
#include "common.cuh"

// T5 LayerNorm: out = x / sqrt(mean(x^2) + eps) * weight.
extern "C" __global__ void rms_norm_f32(const float* x, int dim, const float* weight, float eps,
                                        float* out) {
  __shared__ float scratch[WARP];
  const float* row = x + (long long)blockIdx.x * dim;
  float* dst = out + (long long)blockIdx.x * dim;
  float sq = 0.0f;
  for (int c = threadIdx.x; c < dim; c += blockDim.x) sq += row[c] * row[c];
  float inv = rsqrtf(block_sum(sq, scratch) / dim + eps);
  for (int c = threadIdx.x; c < dim; c += blockDim.x) dst[c] = row[c] * inv * weight[c];
}

// out = (x - mean) / sqrt(var + eps) * weight + bias, with the variance from a second pass over
// (x - mean) so large means do not cancel.
extern "C" __global__ void layer_norm_f32(const float* x, int dim, const float* weight,
                                          const float* bias, float eps, float* out) {
  __shared__ float scratch[WARP];
  const float* row = x + (long long)blockIdx.x * dim;
  float* dst = out + (long long)blockIdx.x * dim;
  float s = 0.0f;
  for (int c = threadIdx.x; c < dim; c += blockDim.x) s += row[c];
  float mean = block_sum(s, scratch) / dim;
  float sq = 0.0f;
  for (int c = threadIdx.x; c < dim; c += blockDim.x) {
    float d = row[c] - mean;
    sq += d * d;
  }
  float inv = rsqrtf(block_sum(sq, scratch) / dim + eps);
  for (int c = threadIdx.x; c < dim; c += blockDim.x) {
    dst[c] = (row[c] - mean) * inv * weight[c] + bias[c];
  }
}

// The residual add and the T5 LayerNorm after it (vLLM's fused_add_rms_norm): residual += delta,
// then out = residual / sqrt(mean(residual^2) + eps) * weight. out may be residual: each thread
// reads and writes only its own columns.
extern "C" __global__ void add_rms_norm_f32(float* residual, const float* delta, int dim,
                                            const float* weight, float eps, float* out) {
  __shared__ float scratch[WARP];
  float* row = residual + (long long)blockIdx.x * dim;
  const float* add = delta + (long long)blockIdx.x * dim;
  float* dst = out + (long long)blockIdx.x * dim;
  float sq = 0.0f;
  for (int c = threadIdx.x; c < dim; c += blockDim.x) {
    float v = row[c] + add[c];
    row[c] = v;
    sq += v * v;
  }
  float inv = rsqrtf(block_sum(sq, scratch) / dim + eps);
  for (int c = threadIdx.x; c < dim; c += blockDim.x) dst[c] = row[c] * inv * weight[c];
}

// The residual add and the LayerNorm after it: residual += delta, then layer_norm_f32 of it.
extern "C" __global__ void add_layer_norm_f32(float* residual, const float* delta, int dim,
                                              const float* weight, const float* bias, float eps,
                                              float* out) {
  __shared__ float scratch[WARP];
  float* row = residual + (long long)blockIdx.x * dim;
  const float* add = delta + (long long)blockIdx.x * dim;
  float* dst = out + (long long)blockIdx.x * dim;
  float s = 0.0f;
  for (int c = threadIdx.x; c < dim; c += blockDim.x) {
    float v = row[c] + add[c];
    row[c] = v;
    s += v;
  }
  float mean = block_sum(s, scratch) / dim;
  float sq = 0.0f;
  for (int c = threadIdx.x; c < dim; c += blockDim.x) {
    float d = row[c] - mean;
    sq += d * d;
  }
  float inv = rsqrtf(block_sum(sq, scratch) / dim + eps);
  for (int c = threadIdx.x; c < dim; c += blockDim.x) {
    dst[c] = (row[c] - mean) * inv * weight[c] + bias[c];
  }
}

// Greedy decoding without copying logits to the host: ids[row] = index of the largest value of
// logits row, ties to the lowest index as a sequential scan would choose, and logprobs[row] = its
// log-softmax, -log(sum(exp(v - max))).
extern "C" __global__ void greedy_f32(const float* logits, int vocab, int* ids, float* logprobs) {
  __shared__ float bestValues[WARP];
  __shared__ int bestIndexes[WARP];
  __shared__ float scratch[WARP];
  const float* row = logits + (long long)blockIdx.x * vocab;
  float best = -INFINITY;
  int bestIndex = 0x7fffffff;
  for (int c = threadIdx.x; c < vocab; c += blockDim.x) {
    float v = row[c];
    if (v > best) {  // c only grows per thread, so the first maximum stays
      best = v;
      bestIndex = c;
    }
  }
  int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP;
  for (int o = WARP / 2; o > 0; o >>= 1) {
    float v = __shfl_xor_sync(0xffffffffu, best, o);
    int i = __shfl_xor_sync(0xffffffffu, bestIndex, o);
    if (v > best || (v == best && i < bestIndex)) {
      best = v;
      bestIndex = i;
    }
  }
  if (lane == 0) {
    bestValues[warp] = best;
    bestIndexes[warp] = bestIndex;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < blockDim.x / WARP; w++) {
      if (bestValues[w] > best || (bestValues[w] == best && bestIndexes[w] < bestIndex)) {
        best = bestValues[w];
        bestIndex = bestIndexes[w];
      }
    }
    ids[blockIdx.x] = bestIndex == 0x7fffffff ? 0 : bestIndex;
    bestValues[0] = best;
  }
  __syncthreads();
  float max = bestValues[0];
  float s = 0.0f;
  for (int c = threadIdx.x; c < vocab; c += blockDim.x) s += expf(row[c] - max);
  float total = block_sum(s, scratch);
  if (threadIdx.x == 0) logprobs[blockIdx.x] = -logf(total);
}
