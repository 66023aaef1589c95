package dev.tandem.backend.opencl;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.backend.testkit.AttentionParityTest;
import java.util.Map;
import org.junit.jupiter.api.Nested;

/**
 * Attention of every type with a work-group per (query, head) ({@code opencl.attention=groups}),
 * launched alone and queued (where groups take pairs in turn).
 */
class OpenClGroupAttentionTest {

  @Nested
  class Alone extends AttentionParityTest {
    @Override
    protected AttentionBackend openBackendUnderTest() {
      return Backends.opencl(Map.of("opencl.attention", "groups", "opencl.queue", "false"));
    }
  }

  @Nested
  class Queued extends AttentionParityTest {
    @Override
    protected AttentionBackend openBackendUnderTest() {
      return Backends.opencl(Map.of("opencl.attention", "groups", "opencl.queue", "true"));
    }
  }
}
