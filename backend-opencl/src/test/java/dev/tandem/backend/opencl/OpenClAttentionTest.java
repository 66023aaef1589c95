package dev.tandem.backend.opencl;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.backend.testkit.AttentionParityTest;

/**
 * Attention of every type, paged, swapped and copied: the OpenCL backend against the CPU backend.
 */
class OpenClAttentionTest extends AttentionParityTest {

  @Override
  protected AttentionBackend openBackendUnderTest() {
    return Backends.opencl();
  }
}
