package dev.tandem.backend.cuda;

import dev.tandem.api.backend.KvCacheSpec;
import dev.tandem.api.block.BlockMapping;
import java.util.List;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/**
 * The paged KV cache: every decoder layer's K and V pool in one device allocation, laid out as
 * {@code (2 * numLayers, numBlocks, blockSize, numHeads, headDim)} with pool {@code 2 * layer} for
 * K and {@code 2 * layer + 1} for V, and the swap pool in pinned host memory with the same layout
 * over {@code numSwapBlocks}. One allocation lets copyBlocks cover every pool in a single launch.
 */
final class CudaKvCache implements AutoCloseable {

  final KvCacheSpec spec;
  private final DevicePointer device = new DevicePointer();
  private final Pointer host = new Pointer();
  private final boolean hasHost;
  private final long blockBytes;
  private final int numPools;

  CudaKvCache(KvCacheSpec spec, KernelStream stream) {
    this.spec = spec;
    this.blockBytes = (long) spec.blockElements() * Float.BYTES;
    this.numPools = 2 * spec.numLayers();
    long deviceBytes = blockBytes * spec.numBlocks() * numPools;
    JCudaDriver.cuMemAlloc(device, deviceBytes);
    // Zeroed so that a slot read before it is written holds 0, not stale NaNs.
    JCudaDriver.cuMemsetD32Async(device, 0, deviceBytes / Float.BYTES, stream.ordered());
    hasHost = spec.numSwapBlocks() > 0;
    if (hasHost) {
      try {
        JCudaDriver.cuMemAllocHost(host, blockBytes * spec.numSwapBlocks() * numPools);
      } catch (RuntimeException e) {
        JCudaDriver.cuMemFree(device);
        throw e;
      }
    }
  }

  /** The address of layer {@code layer}'s K pool (value = false) or V pool (value = true). */
  long pool(int layer, boolean value) {
    checkLayer(layer);
    return device.address() + poolOffset(2 * layer + (value ? 1 : 0), spec.numBlocks());
  }

  /** The address of the first pool. */
  long base() {
    return device.address();
  }

  int numPools() {
    return numPools;
  }

  private long poolOffset(int pool, int blocksPerPool) {
    return blockBytes * blocksPerPool * pool;
  }

  private void checkLayer(int layer) {
    if (layer < 0 || layer >= spec.numLayers()) {
      throw new IllegalArgumentException(
          "layer " + layer + " outside the KV cache's " + spec.numLayers() + " layers");
    }
  }

  /** Device → pinned host, block by block and pool by pool, asynchronously on the stream. */
  void swapOut(List<BlockMapping> gpuToCpu, CUstream stream) {
    for (BlockMapping m : gpuToCpu) {
      spec.checkBlock("cuda", m.src(), "swap-out source");
      spec.checkSwapBlock("cuda", m.dst());
      for (int p = 0; p < numPools; p++) {
        JCudaDriver.cuMemcpyDtoHAsync(
            hostBlock(p, m.dst()), deviceBlock(p, m.src()), blockBytes, stream);
      }
    }
  }

  /** Pinned host → device, asynchronously on the stream. */
  void swapIn(List<BlockMapping> cpuToGpu, CUstream stream) {
    for (BlockMapping m : cpuToGpu) {
      spec.checkBlock("cuda", m.dst(), "swap-in target");
      spec.checkSwapBlock("cuda", m.src());
      for (int p = 0; p < numPools; p++) {
        JCudaDriver.cuMemcpyHtoDAsync(
            deviceBlock(p, m.dst()), hostBlock(p, m.src()), blockBytes, stream);
      }
    }
  }

  private CUdeviceptr deviceBlock(int pool, int block) {
    return device.withByteOffset(poolOffset(pool, spec.numBlocks()) + blockBytes * block);
  }

  private Pointer hostBlock(int pool, int block) {
    return host.withByteOffset(poolOffset(pool, spec.numSwapBlocks()) + blockBytes * block);
  }

  @Override
  public void close() {
    JCudaDriver.cuMemFree(device);
    if (hasHost) {
      JCudaDriver.cuMemFreeHost(host);
    }
  }
}
