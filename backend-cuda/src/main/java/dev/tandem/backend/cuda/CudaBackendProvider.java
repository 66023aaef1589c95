package dev.tandem.backend.cuda;

import dev.tandem.api.Availability;
import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.backend.BackendConfig;

/** Placeholder until this module is implemented: reports itself unavailable. */
public final class CudaBackendProvider implements AttentionBackendProvider {

  @Override
  public String name() {
    return "cuda";
  }

  @Override
  public int priority() {
    return 300;
  }

  @Override
  public Availability availability() {
    return Availability.notImplementedYet();
  }

  @Override
  public AttentionBackend create(BackendConfig config) {
    throw new UnsupportedOperationException("cuda: not implemented yet");
  }
}
