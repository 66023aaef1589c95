package dev.tandem.core.plugin;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.PluginProvider;

/**
 * A provider together with its kind and where it was found.
 *
 * @param <P> the service interface
 */
public record DiscoveredProvider<P extends PluginProvider>(
    PluginKind kind, P provider, PluginSource source) {

  public DiscoveredProvider {
    requireNonNull(kind, "kind is null");
    requireNonNull(provider, "provider is null");
    requireNonNull(source, "source is null");
    if (!kind.service().isInstance(provider)) {
      throw new IllegalArgumentException(
          provider.getClass().getName() + " is not a " + kind.service().getName());
    }
  }

  /** A provider whose source is derived from its class ({@link PluginSource#of}). */
  public static <P extends PluginProvider> DiscoveredProvider<P> of(PluginKind kind, P provider) {
    requireNonNull(provider, "provider is null");
    return new DiscoveredProvider<>(kind, provider, PluginSource.of(provider.getClass()));
  }

  public String name() {
    return provider.name();
  }

  /** "cuda (module dev.tandem.backend.cuda (/opt/tandem/plugins/cuda.jar))". */
  @Override
  public String toString() {
    return provider.name() + " (" + source + ")";
  }
}
