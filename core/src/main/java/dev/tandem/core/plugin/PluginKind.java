package dev.tandem.core.plugin;

import dev.tandem.api.PluginProvider;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.block.BlockSpaceManagerProvider;

/** The kinds of plugin Tandem looks for, each a {@link java.util.ServiceLoader} service. */
public enum PluginKind {
  BLOCK_MANAGER(BlockSpaceManagerProvider.class, "block manager"),
  BACKEND(AttentionBackendProvider.class, "backend");

  private final Class<? extends PluginProvider> service;
  private final String noun;

  PluginKind(Class<? extends PluginProvider> service, String noun) {
    this.service = service;
    this.noun = noun;
  }

  /** The service interface providers of this kind implement. */
  public Class<? extends PluginProvider> service() {
    return service;
  }

  /** This kind in words, singular: "backend". */
  public String noun() {
    return noun;
  }
}
