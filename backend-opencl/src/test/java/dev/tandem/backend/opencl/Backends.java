package dev.tandem.backend.opencl;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.backend.testkit.BackendParity;
import java.util.Map;

/**
 * The OpenCL backend under test; without a usable OpenCL device the test is skipped with the
 * reason.
 */
final class Backends {

  private Backends() {}

  static AttentionBackend opencl() {
    return opencl(Map.of());
  }

  static AttentionBackend opencl(Map<String, String> options) {
    return BackendParity.open(new OpenClBackendProvider(), options);
  }
}
