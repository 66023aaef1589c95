package dev.tandem.benchmarks;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.backend.BackendConfig;
import java.util.Map;
import java.util.ServiceLoader;

/** Opens a backend by name for a benchmark, or says why it cannot. */
public final class BenchBackends {

  private BenchBackends() {}

  public static AttentionBackend open(String name, Map<String, String> options) {
    AttentionBackendProvider provider =
        ServiceLoader.load(AttentionBackendProvider.class).stream()
            .map(ServiceLoader.Provider::get)
            .filter(p -> p.name().equals(name))
            .findFirst()
            .orElseThrow(() -> new IllegalStateException("no backend " + name));
    if (!provider.availability().available()) {
      throw new IllegalStateException(name + ": " + provider.availability().reason());
    }
    return provider.create(new BackendConfig(0, options));
  }
}
