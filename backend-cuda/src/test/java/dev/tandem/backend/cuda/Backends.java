package dev.tandem.backend.cuda;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.backend.testkit.BackendParity;
import java.util.Map;

/** The CUDA backend under test; without a usable GPU the test is skipped with the reason. */
final class Backends {

  private Backends() {}

  static AttentionBackend cuda() {
    return cuda(Map.of());
  }

  static AttentionBackend cuda(Map<String, String> options) {
    return BackendParity.open(new CudaBackendProvider(), options);
  }
}
