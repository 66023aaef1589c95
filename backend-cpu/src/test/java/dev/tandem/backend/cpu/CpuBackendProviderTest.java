package dev.tandem.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.BackendConfig;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CpuBackendProviderTest {

  @Test
  void availableWithTheVectorModuleAndSizedByTheConfig() {
    CpuBackendProvider provider = new CpuBackendProvider();
    assertEquals("cpu", provider.name());
    assertEquals(100, provider.priority());
    assertTrue(provider.availability().available(), provider.availability().reason());
    try (AttentionBackend backend = provider.create(new BackendConfig(3, Map.of()))) {
      assertEquals("cpu", backend.name());
      assertTrue(
          backend.deviceName().startsWith("CPU, 3 threads, Vector API"), backend.deviceName());
      assertTrue(backend.freeMemoryBytes() > 0);
    }
  }
}
