package dev.tandem.backend.opencl;

import dev.tandem.api.backend.KvCacheSpec;
import dev.tandem.api.block.BlockMapping;
import java.util.List;

/**
 * The paged KV cache: on the device one K and one V buffer, each (layer, numBlocks, blockSize,
 * numHeads, headDim); on the host a swap pool of (layer) → (numSwapBlocks, blockSize, numHeads,
 * headDim) per K and V. Swaps move whole blocks of every layer through the big staging array in one
 * launch each way.
 */
final class OpenClKvCache {

  private final KvCacheSpec spec;
  private final DeviceOps ops;
  private final int blockElements;
  private final float[][] swapKeys; // (layer) -> (numSwapBlocks, blockSize, numHeads, headDim)
  private final float[][] swapValues;

  OpenClKvCache(KvCacheSpec spec, DeviceOps ops) {
    this.spec = spec;
    this.ops = ops;
    this.blockElements = spec.blockElements();
    long swapFloats = (long) spec.numSwapBlocks() * blockElements;
    if (swapFloats > DeviceOps.MAX_ARRAY) {
      throw new IllegalArgumentException(
          "opencl: KV cache "
              + spec
              + ": the host swap pool needs "
              + swapFloats
              + " floats per layer, more than one Java array holds; use fewer swap blocks");
    }
    ops.allocatePools((long) spec.numLayers() * spec.numBlocks() * blockElements);
    swapKeys = new float[spec.numLayers()][(int) swapFloats];
    swapValues = new float[spec.numLayers()][(int) swapFloats];
  }

  KvCacheSpec spec() {
    return spec;
  }

  /** First element of a layer in the K and V pools. */
  int layerBase(int layer) {
    if (layer < 0 || layer >= spec.numLayers()) {
      throw new IllegalArgumentException(
          "opencl: layer " + layer + " outside the KV cache's layers 0.." + (spec.numLayers() - 1));
    }
    return layer * spec.numBlocks() * blockElements;
  }

  void checkRowShape(int numHeads, int headDim) {
    if (numHeads != spec.numHeads() || headDim != spec.headDim()) {
      throw new IllegalArgumentException(
          "opencl: attention with "
              + numHeads
              + " heads × "
              + headDim
              + " does not match the KV cache's "
              + spec.numHeads()
              + " heads × "
              + spec.headDim());
    }
  }

  void checkSlots(int[] slots, int count) {
    for (int t = 0; t < count; t++) {
      spec.checkSlot("opencl", slots[t], t);
    }
  }

  /** Device blocks → host swap pool: gathered into the big stage, then one get. */
  void swapOut(List<BlockMapping> gpuToCpu) {
    for (BlockMapping m : gpuToCpu) {
      spec.checkBlock("opencl", m.src(), "swap-out source");
      spec.checkSwapBlock("opencl", m.dst());
    }
    int n = gpuToCpu.size();
    if (n == 0) {
      return;
    }
    int[] blocks = ops.intStage(n);
    for (int i = 0; i < n; i++) {
      blocks[i] = gpuToCpu.get(i).src();
    }
    ops.kernel().put(blocks);
    float[] stage = ops.bigStage(stagedFloats(n));
    launchBlocks(DeviceKernel.OP_BLOCKS_OUT, n);
    ops.get(stage);
    for (int layer = 0; layer < spec.numLayers(); layer++) {
      for (int i = 0; i < n; i++) {
        int dst = gpuToCpu.get(i).dst() * blockElements;
        System.arraycopy(stage, staged(layer, 0, i, n), swapKeys[layer], dst, blockElements);
        System.arraycopy(stage, staged(layer, 1, i, n), swapValues[layer], dst, blockElements);
      }
    }
  }

  /** Host swap pool → device blocks: filled into the big stage, put, then scattered. */
  void swapIn(List<BlockMapping> cpuToGpu) {
    for (BlockMapping m : cpuToGpu) {
      spec.checkSwapBlock("opencl", m.src());
      spec.checkBlock("opencl", m.dst(), "swap-in target");
    }
    int n = cpuToGpu.size();
    if (n == 0) {
      return;
    }
    int[] blocks = ops.intStage(n);
    float[] stage = ops.bigStage(stagedFloats(n));
    for (int i = 0; i < n; i++) {
      blocks[i] = cpuToGpu.get(i).dst();
      int src = cpuToGpu.get(i).src() * blockElements;
      for (int layer = 0; layer < spec.numLayers(); layer++) {
        System.arraycopy(swapKeys[layer], src, stage, staged(layer, 0, i, n), blockElements);
        System.arraycopy(swapValues[layer], src, stage, staged(layer, 1, i, n), blockElements);
      }
    }
    ops.kernel().put(blocks).put(stage);
    launchBlocks(DeviceKernel.OP_BLOCKS_IN, n);
  }

  /** Copy-on-write: device blocks src → dst in every layer's K and V pool. */
  void copyBlocks(List<BlockMapping> srcToDst) {
    for (BlockMapping m : srcToDst) {
      spec.checkBlock("opencl", m.src(), "copy source");
      spec.checkBlock("opencl", m.dst(), "copy target");
    }
    int n = srcToDst.size();
    if (n == 0) {
      return;
    }
    int[] pairs = ops.intStage(2 * n);
    for (int i = 0; i < n; i++) {
      pairs[2 * i] = srcToDst.get(i).src();
      pairs[2 * i + 1] = srcToDst.get(i).dst();
    }
    ops.kernel().put(pairs);
    LaunchArgs args = ops.args();
    args.rows = n;
    args.inner = blockElements;
    args.cols = spec.numBlocks();
    ops.launch(
        DeviceKernel.OP_COPY_BLOCKS, Math.multiplyExact(spec.numLayers() * n, blockElements));
  }

  private int stagedFloats(int blocks) {
    return Math.multiplyExact(2 * spec.numLayers() * blocks, blockElements);
  }

  /** Offset in the big stage of block i of (layer, K = 0 / V = 1) among n blocks. */
  private int staged(int layer, int pool, int i, int n) {
    return ((layer * 2 + pool) * n + i) * blockElements;
  }

  private void launchBlocks(int op, int n) {
    LaunchArgs args = ops.args();
    args.rows = n;
    args.inner = blockElements;
    args.cols = spec.numBlocks();
    ops.launch(op, stagedFloats(n));
  }
}
