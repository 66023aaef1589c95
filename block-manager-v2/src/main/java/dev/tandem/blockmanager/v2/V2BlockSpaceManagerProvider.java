package dev.tandem.blockmanager.v2;

import dev.tandem.api.Availability;
import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.block.BlockSpaceManagerProvider;

/** Placeholder until this module is implemented: reports itself unavailable. */
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
    return Availability.notImplementedYet();
  }

  @Override
  public BlockSpaceManager create(BlockManagerConfig config) {
    throw new UnsupportedOperationException("v2: not implemented yet");
  }
}
