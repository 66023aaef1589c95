package dev.tandem.core.plugin;

import dev.tandem.api.Availability;
import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.backend.BackendConfig;
import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.block.BlockSpaceManagerProvider;

/** Providers constructed directly by tests; they report what they are told and create nothing. */
final class FakeProviders {

  private FakeProviders() {}

  record FakeBackend(String name, int priority, Availability availability)
      implements AttentionBackendProvider {
    @Override
    public AttentionBackend create(BackendConfig config) {
      throw new UnsupportedOperationException("test provider");
    }
  }

  record FakeBlockManager(String name, int priority, Availability availability)
      implements BlockSpaceManagerProvider {
    @Override
    public BlockSpaceManager create(BlockManagerConfig config) {
      throw new UnsupportedOperationException("test provider");
    }
  }

  static DiscoveredProvider<?> backend(String name, int priority, Availability availability) {
    return DiscoveredProvider.of(PluginKind.BACKEND, new FakeBackend(name, priority, availability));
  }

  static DiscoveredProvider<?> blockManager(String name, int priority, Availability availability) {
    return DiscoveredProvider.of(
        PluginKind.BLOCK_MANAGER, new FakeBlockManager(name, priority, availability));
  }
}
