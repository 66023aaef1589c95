package dev.tandem.backend.cuda;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.backend.testkit.AttentionParityTest;

/** Attention of every type, paged, swapped and copied: the CUDA backend against the CPU backend. */
class CudaAttentionTest extends AttentionParityTest {

  @Override
  protected AttentionBackend openBackendUnderTest() {
    return Backends.cuda();
  }
}
