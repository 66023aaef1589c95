package dev.tandem.backend.cpu;

import dev.tandem.api.Availability;
import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.backend.BackendConfig;

/** Placeholder until this module is implemented: reports itself unavailable. */
public final class CpuBackendProvider implements AttentionBackendProvider {

  @Override
  public String name() {
    return "cpu";
  }

  @Override
  public int priority() {
    return 100;
  }

  @Override
  public Availability availability() {
    return Availability.notImplementedYet();
  }

  @Override
  public AttentionBackend create(BackendConfig config) {
    throw new UnsupportedOperationException("cpu: not implemented yet");
  }
}
