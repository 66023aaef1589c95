package dev.tandem.backend.cpu;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.backend.KvCacheSpec;
import dev.tandem.api.block.BlockMapping;
import java.util.List;

/**
 * The paged KV cache on the host: per decoder layer a K and a V pool of (numBlocks, blockSize,
 * numHeads, headDim) floats, and a swap pool of the same shape with numSwapBlocks. One array per
 * layer and pool, so a pool is limited to what one Java array holds (about 2^31 floats).
 */
final class KvCache {

  private final KvCacheSpec spec;
  private final int rowStride; // numHeads * headDim: one token's values in a pool
  private final int blockElements;
  private final float[][] keys; // (layer) -> (numBlocks, blockSize, numHeads, headDim)
  private final float[][] values;
  private final float[][] swapKeys; // (layer) -> (numSwapBlocks, blockSize, numHeads, headDim)
  private final float[][] swapValues;

  private KvCache(KvCacheSpec spec) {
    this.spec = spec;
    this.rowStride = spec.numHeads() * spec.headDim();
    this.blockElements = spec.blockElements();
    int layers = spec.numLayers();
    keys = new float[layers][];
    values = new float[layers][];
    swapKeys = new float[layers][];
    swapValues = new float[layers][];
    for (int layer = 0; layer < layers; layer++) {
      keys[layer] = new float[spec.numBlocks() * blockElements];
      values[layer] = new float[spec.numBlocks() * blockElements];
      swapKeys[layer] = new float[spec.numSwapBlocks() * blockElements];
      swapValues[layer] = new float[spec.numSwapBlocks() * blockElements];
    }
  }

  /** Heap bytes of the device and swap pools of a spec. */
  static long bytes(KvCacheSpec spec) {
    return (long) (spec.numBlocks() + spec.numSwapBlocks()) * spec.bytesPerBlock();
  }

  /** Checks that the spec fits in Java arrays and in {@code freeBytes}, then allocates it. */
  static KvCache allocate(KvCacheSpec spec, long freeBytes) {
    requireNonNull(spec, "spec is null");
    checkFitsInArray(spec, spec.numBlocks(), "device");
    checkFitsInArray(spec, spec.numSwapBlocks(), "swap");
    long needed = bytes(spec);
    if (needed > freeBytes) {
      throw new IllegalArgumentException(
          "cpu: KV cache "
              + spec
              + " needs "
              + needed
              + " bytes but the JVM can allocate about "
              + freeBytes
              + "; use fewer blocks or raise -Xmx");
    }
    return new KvCache(spec);
  }

  private static void checkFitsInArray(KvCacheSpec spec, int blocks, String pool) {
    long blockElements = (long) spec.blockSize() * spec.numHeads() * spec.headDim();
    long maxBlocks = CpuTensor.MAX_ARRAY_LENGTH / blockElements;
    if (blocks > maxBlocks) {
      throw new IllegalArgumentException(
          "cpu: KV cache "
              + spec
              + ": the "
              + pool
              + " pool needs "
              + blocks * blockElements
              + " floats per layer, more than one Java array holds ("
              + CpuTensor.MAX_ARRAY_LENGTH
              + "); the cpu backend splits pools per layer (K and V apart), so use at most "
              + maxBlocks
              + " "
              + pool
              + " blocks with this block shape");
    }
  }

  KvCacheSpec spec() {
    return spec;
  }

  float[] keys(int layer) {
    return keys[checkLayer(layer)];
  }

  float[] values(int layer) {
    return values[checkLayer(layer)];
  }

  private int checkLayer(int layer) {
    if (layer < 0 || layer >= keys.length) {
      throw new IllegalArgumentException(
          "cpu: layer " + layer + " outside the KV cache's layers 0.." + (keys.length - 1));
    }
    return layer;
  }

  /** Checks that a tensor row of {@code numHeads * headDim} values matches this cache. */
  void checkRowShape(int numHeads, int headDim) {
    if (numHeads != spec.numHeads() || headDim != spec.headDim()) {
      throw new IllegalArgumentException(
          "cpu: attention with "
              + numHeads
              + " heads × "
              + headDim
              + " does not match the KV cache's "
              + spec.numHeads()
              + " heads × "
              + spec.headDim());
    }
  }

  /**
   * Writes token rows [start, end) of k and v into slots {@code slots[start..end)} of the layer.
   */
  void write(int layer, float[] k, float[] v, int[] slots, int start, int end) {
    float[] kPool = keys(layer);
    float[] vPool = values(layer);
    for (int t = start; t < end; t++) {
      int slot = slots[t];
      spec.checkSlot("cpu", slot, t);
      int src = t * rowStride;
      System.arraycopy(k, src, kPool, slot * rowStride, rowStride);
      System.arraycopy(v, src, vPool, slot * rowStride, rowStride);
    }
  }

  void swapOut(List<BlockMapping> gpuToCpu) {
    for (BlockMapping m : gpuToCpu) {
      spec.checkBlock("cpu", m.src(), "swap-out source");
      spec.checkSwapBlock("cpu", m.dst());
    }
    copy(gpuToCpu, keys, swapKeys);
    copy(gpuToCpu, values, swapValues);
  }

  void swapIn(List<BlockMapping> cpuToGpu) {
    for (BlockMapping m : cpuToGpu) {
      spec.checkSwapBlock("cpu", m.src());
      spec.checkBlock("cpu", m.dst(), "swap-in target");
    }
    copy(cpuToGpu, swapKeys, keys);
    copy(cpuToGpu, swapValues, values);
  }

  void copyBlocks(List<BlockMapping> srcToDst) {
    for (BlockMapping m : srcToDst) {
      spec.checkBlock("cpu", m.src(), "copy source");
      spec.checkBlock("cpu", m.dst(), "copy target");
    }
    copy(srcToDst, keys, keys);
    copy(srcToDst, values, values);
  }

  /** Copies whole blocks src → dst in every layer (the mappings are already checked). */
  private void copy(List<BlockMapping> mappings, float[][] from, float[][] to) {
    for (int layer = 0; layer < from.length; layer++) {
      for (BlockMapping m : mappings) {
        System.arraycopy(
            from[layer],
            m.src() * blockElements,
            to[layer],
            m.dst() * blockElements,
            blockElements);
      }
    }
  }
}
