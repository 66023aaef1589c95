package dev.tandem.api.block;

import dev.tandem.api.PluginProvider;

/** Makes {@link BlockSpaceManager}s; found by {@link java.util.ServiceLoader}, chosen by name. */
public interface BlockSpaceManagerProvider extends PluginProvider {

  BlockSpaceManager create(BlockManagerConfig config);
}
