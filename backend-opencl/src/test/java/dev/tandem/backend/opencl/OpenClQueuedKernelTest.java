package dev.tandem.backend.opencl;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.backend.testkit.KernelParityTest;
import java.util.Map;

/**
 * The shared kernel parity tests with the op queue on (the default on GPUs, off on CPU devices such
 * as PoCL): every op runs as a pass of a later execute, and reads must run the queue first.
 */
class OpenClQueuedKernelTest extends KernelParityTest {

  @Override
  protected AttentionBackend openBackendUnderTest() {
    return Backends.opencl(Map.of(OpenClBackendProvider.QUEUE_OPTION, "true"));
  }
}
