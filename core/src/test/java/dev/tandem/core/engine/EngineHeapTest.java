package dev.tandem.core.engine;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.core.checkpoint.Fixtures;
import dev.tandem.core.config.EngineConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A KV cache sized by gpu-memory-utilization on the cpu backend takes a share of the free heap,
 * where unreachable objects (a closed engine's pools, say) count as used until a collection. Run in
 * a JVM of its own with a small heap (see the pom): filling a big heap takes long on some machines.
 */
class EngineHeapTest {

  private static int autoSizedBlocks() {
    Map<String, String> flags =
        Map.of(
            "model", Fixtures.fixture("t5-tiny").toString(),
            "backend", "cpu",
            "block-manager", ToyModel.blockManagers().findFirst().orElseThrow(),
            "swap-blocks", "16",
            "num-threads", "2",
            "gpu-memory-utilization", "0.5");
    try (Engine engine =
        Engine.create(EngineConfig.resolve(flags, Optional.empty(), Map.of(), Map.of()))) {
      return engine.stats().totalGpuBlocks();
    }
  }

  @Test
  void garbageDoesNotShrinkTheNextEnginesCache() {
    int clean = autoSizedBlocks();
    System.gc(); // the first engine's cache
    // Garbage that survives young collections, 40 % of the heap: under G1's threshold (45 %) for a
    // concurrent cycle, so nothing reclaims it unless the engine collects before sizing its cache.
    List<byte[]> garbage = new ArrayList<>();
    Runtime rt = Runtime.getRuntime();
    while (rt.totalMemory() - rt.freeMemory() < rt.maxMemory() * 4 / 10) {
      garbage.add(new byte[64 << 10]);
    }
    garbage = null;
    int after = autoSizedBlocks();
    assertTrue(after >= clean * 9 / 10, after + " blocks after garbage, " + clean + " before");
  }
}
