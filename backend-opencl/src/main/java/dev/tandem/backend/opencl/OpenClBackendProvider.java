package dev.tandem.backend.opencl;

import dev.tandem.api.Availability;
import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.backend.BackendConfig;

/** Placeholder until this module is implemented: reports itself unavailable. */
public final class OpenClBackendProvider implements AttentionBackendProvider {

  @Override
  public String name() {
    return "opencl";
  }

  @Override
  public int priority() {
    return 200;
  }

  @Override
  public Availability availability() {
    return Availability.notImplementedYet();
  }

  @Override
  public AttentionBackend create(BackendConfig config) {
    throw new UnsupportedOperationException("opencl: not implemented yet");
  }
}
