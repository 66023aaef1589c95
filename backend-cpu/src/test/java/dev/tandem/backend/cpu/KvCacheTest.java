package dev.tandem.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.BackendConfig;
import dev.tandem.api.backend.KvCacheSpec;
import dev.tandem.api.block.BlockMapping;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Swap and copy-on-write move whole blocks, in every layer, K and V; bad sizes fail clearly. */
class KvCacheTest {

  private static final KvCacheSpec SPEC = new KvCacheSpec(3, 6, 4, 4, 2, 5);
  private final Random random = new Random(3);

  private KvCache filledCache() {
    KvCache cache = KvCache.allocate(SPEC, Long.MAX_VALUE);
    for (int layer = 0; layer < SPEC.numLayers(); layer++) {
      fill(cache.keys(layer));
      fill(cache.values(layer));
    }
    return cache;
  }

  private void fill(float[] pool) {
    for (int i = 0; i < pool.length; i++) {
      pool[i] = random.nextFloat();
    }
  }

  private static float[] block(float[] pool, int block) {
    int size = SPEC.blockElements();
    return Arrays.copyOfRange(pool, block * size, (block + 1) * size);
  }

  @Test
  void swapOutThenInRestoresBlocksInEveryLayer() {
    KvCache cache = filledCache();
    float[][] before = new float[SPEC.numLayers() * 2][];
    for (int layer = 0; layer < SPEC.numLayers(); layer++) {
      before[2 * layer] = cache.keys(layer).clone();
      before[2 * layer + 1] = cache.values(layer).clone();
    }
    cache.swapOut(List.of(new BlockMapping(1, 3), new BlockMapping(4, 0)));
    for (int layer = 0; layer < SPEC.numLayers(); layer++) {
      Arrays.fill(cache.keys(layer), 0f); // the device blocks get reused meanwhile
      Arrays.fill(cache.values(layer), 0f);
    }
    cache.swapIn(List.of(new BlockMapping(3, 5), new BlockMapping(0, 2)));
    for (int layer = 0; layer < SPEC.numLayers(); layer++) {
      assertArrayEquals(block(before[2 * layer], 1), block(cache.keys(layer), 5));
      assertArrayEquals(block(before[2 * layer], 4), block(cache.keys(layer), 2));
      assertArrayEquals(block(before[2 * layer + 1], 1), block(cache.values(layer), 5));
      assertArrayEquals(block(before[2 * layer + 1], 4), block(cache.values(layer), 2));
      assertArrayEquals(new float[SPEC.blockElements()], block(cache.keys(layer), 0));
    }
  }

  @Test
  void copyBlocksCopiesEveryLayerAndLeavesTheSource() {
    KvCache cache = filledCache();
    float[] key0 = cache.keys(0).clone();
    float[] value2 = cache.values(2).clone();
    cache.copyBlocks(List.of(new BlockMapping(2, 0), new BlockMapping(2, 5)));
    assertArrayEquals(block(key0, 2), block(cache.keys(0), 0));
    assertArrayEquals(block(key0, 2), block(cache.keys(0), 5));
    assertArrayEquals(block(key0, 2), block(cache.keys(0), 2));
    assertArrayEquals(block(value2, 2), block(cache.values(2), 5));
    assertArrayEquals(block(key0, 1), block(cache.keys(0), 1));
  }

  @Test
  void outOfRangeBlocksFailBeforeAnyCopy() {
    KvCache cache = filledCache();
    float[] keys = cache.keys(1).clone();
    var e =
        assertThrows(
            IllegalArgumentException.class,
            () -> cache.swapOut(List.of(new BlockMapping(0, 0), new BlockMapping(1, 4))));
    assertTrue(e.getMessage().contains("swap block 4"), e.getMessage());
    assertThrows(
        IllegalArgumentException.class, () -> cache.copyBlocks(List.of(new BlockMapping(6, 0))));
    assertThrows(
        IllegalArgumentException.class, () -> cache.swapIn(List.of(new BlockMapping(0, -1))));
    assertArrayEquals(keys, cache.keys(1));
  }

  @Test
  void poolsTooLargeForAnArrayOrTheHeapFailClearly() {
    try (AttentionBackend backend =
        new CpuBackendProvider().create(new BackendConfig(1, Map.of()))) {
      var array =
          assertThrows(
              IllegalArgumentException.class,
              () -> backend.allocateKvCache(new KvCacheSpec(1, 20_000, 0, 16, 64, 128)));
      assertTrue(array.getMessage().contains("Java array"), array.getMessage());
      assertTrue(array.getMessage().contains("at most 16383 device blocks"), array.getMessage());
      // More than the whole heap (so no collection can make it fit), in layers small enough that
      // no one array reaches the array limit: 1,024 floats a block and layer, 8 MiB a block.
      long blocks = Runtime.getRuntime().maxMemory() / KvCacheSpec.bytesPerBlock(1024, 16, 1, 64);
      var heap =
          assertThrows(
              IllegalArgumentException.class,
              () -> backend.allocateKvCache(new KvCacheSpec(1024, (int) blocks + 1, 0, 16, 1, 64)));
      assertTrue(heap.getMessage().contains("-Xmx"), heap.getMessage());
      assertThrows(IllegalStateException.class, () -> backend.copyBlocks(List.of()));
    }
  }
}
