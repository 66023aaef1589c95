package dev.tandem.blockmanager.v1;

import dev.tandem.api.Availability;
import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.block.BlockSpaceManagerProvider;

/** Provides block manager "v1": vLLM's v1 design with cross-attention block tables. */
public final class V1BlockSpaceManagerProvider implements BlockSpaceManagerProvider {

  @Override
  public String name() {
    return "v1";
  }

  @Override
  public int priority() {
    return 10;
  }

  @Override
  public Availability availability() {
    return Availability.AVAILABLE;
  }

  @Override
  public String description() {
    return "v1: reference-counted block lists, LRU prefix cache (decoder-only requests)";
  }

  @Override
  public BlockSpaceManager create(BlockManagerConfig config) {
    return new V1BlockSpaceManager(config);
  }
}
