package dev.tandem.backend.opencl;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.KvCacheSpec;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The free-memory estimate reads the heap, where unreachable objects count as used until a
 * collection. Run in a JVM of its own with a small heap (see the pom): filling a big heap takes
 * long on some machines.
 */
class OpenClHeapEstimateTest {

  @Test
  void unreachableHeapDoesNotRefuseAKvCache() {
    try (AttentionBackend backend = Backends.opencl()) {
      int blockSize = 16;
      int heads = 4;
      int headDim = 64;
      long bytesPerBlock = 2L * Float.BYTES * blockSize * heads * headDim;
      int blocks = 256; // 8 MiB
      KvCacheSpec spec = new KvCacheSpec(1, blocks, 0, blockSize, heads, headDim);
      // Garbage, such as a closed engine's pools, until the estimate no longer has room for it.
      List<byte[]> garbage = new ArrayList<>();
      while (backend.freeMemoryBytes() >= blocks * bytesPerBlock) {
        garbage.add(new byte[4 << 20]);
      }
      garbage = null;
      backend.allocateKvCache(spec);
    }
  }
}
