package dev.tandem.blockmanager.v2;

import dev.tandem.api.Availability;
import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.block.BlockSpaceManagerProvider;
import java.util.Objects;

/** Provides "v2": vLLM's v2 block manager, extended for cross-attention tables. */
public final class V2BlockSpaceManagerProvider implements BlockSpaceManagerProvider {

  @Override
  public String name() {
    return "v2";
  }

  @Override
  public int priority() {
    return 20;
  }

  @Override
  public Availability availability() {
    return Availability.AVAILABLE;
  }

  @Override
  public String description() {
    return "v2: block tables over CPU/GPU allocators, prefix caching (encoder/decoder too),"
        + " copy-on-write, lookahead slots";
  }

  @Override
  public BlockSpaceManager create(BlockManagerConfig config) {
    return new V2BlockSpaceManager(Objects.requireNonNull(config, "config is null"));
  }
}
