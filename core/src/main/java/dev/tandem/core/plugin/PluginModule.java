package dev.tandem.core.plugin;

import static java.util.Objects.requireNonNull;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Singleton;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.backend.BackendConfig;
import dev.tandem.api.block.BlockSpaceManagerProvider;
import dev.tandem.core.config.EngineConfig;

/**
 * Binds the configuration and the providers it selects: {@link EngineConfig}, {@link Plugins},
 * {@link BackendConfig}, and the chosen {@link AttentionBackendProvider} and {@link
 * BlockSpaceManagerProvider} (selected, and {@code auto} logged, when first injected).
 */
public final class PluginModule extends AbstractModule {

  private final Plugins plugins;
  private final EngineConfig config;

  public PluginModule(Plugins plugins, EngineConfig config) {
    this.plugins = requireNonNull(plugins, "plugins is null");
    this.config = requireNonNull(config, "config is null");
  }

  @Override
  protected void configure() {
    bind(EngineConfig.class).toInstance(config);
    bind(Plugins.class).toInstance(plugins);
    bind(BackendConfig.class).toInstance(config.backendConfig());
  }

  @Provides
  @Singleton
  AttentionBackendProvider backendProvider() {
    return plugins.selectBackend(config.backend()).provider();
  }

  @Provides
  @Singleton
  BlockSpaceManagerProvider blockManagerProvider() {
    return plugins.selectBlockManager(config.blockManager()).provider();
  }
}
