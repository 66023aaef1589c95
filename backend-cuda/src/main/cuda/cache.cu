// Paged KV cache maintenance: writing new K/V rows into their slots, and copy-on-write block
// copies. A pool is (numBlocks, blockSize, numHeads, headDim); a slot is one (numHeads * headDim)
// row of it, slot = block * blockSize + offset.

// kPool[slots[t]] = k[t], vPool[slots[t]] = v[t] for each token t; negative slots are skipped.
// Grid: (nTokens); threads over the row.
extern "C" __global__ void write_kv(const float* __restrict__ k, const float* __restrict__ v,
                                    float* __restrict__ kPool, float* __restrict__ vPool,
                                    const int* __restrict__ slots, int rowElems) {
  long long token = blockIdx.x;
  int slot = slots[token];
  if (slot < 0) return;
  const float* kSrc = k + token * rowElems;
  const float* vSrc = v + token * rowElems;
  float* kDst = kPool + (long long)slot * rowElems;
  float* vDst = vPool + (long long)slot * rowElems;
  for (int e = threadIdx.x; e < rowElems; e += blockDim.x) {
    kDst[e] = kSrc[e];
    vDst[e] = vSrc[e];
  }
}

// For each (src, dst) pair and each pool: pool[dst block] = pool[src block]. The pools are
// consecutive in one allocation, poolElems values apart (2 * layer: K, 2 * layer + 1: V);
// pairs: (numPairs, 2). Grid: (numPairs, numPools); threads over the block's elements.
extern "C" __global__ void copy_blocks(float* __restrict__ pools, const int* __restrict__ pairs,
                                       long long blockElems, long long poolElems) {
  float* pool = pools + blockIdx.y * poolElems;
  const float* src = pool + pairs[2 * blockIdx.x] * blockElems;
  float* dst = pool + pairs[2 * blockIdx.x + 1] * blockElems;
  for (long long e = threadIdx.x; e < blockElems; e += blockDim.x) dst[e] = src[e];
}
