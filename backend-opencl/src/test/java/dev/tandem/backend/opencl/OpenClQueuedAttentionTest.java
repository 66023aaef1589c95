package dev.tandem.backend.opencl;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.backend.testkit.AttentionParityTest;
import java.util.Map;

/** Attention of every type, paged, swapped and copied, with the op queue on. */
class OpenClQueuedAttentionTest extends AttentionParityTest {

  @Override
  protected AttentionBackend openBackendUnderTest() {
    return Backends.opencl(Map.of(OpenClBackendProvider.QUEUE_OPTION, "true"));
  }
}
