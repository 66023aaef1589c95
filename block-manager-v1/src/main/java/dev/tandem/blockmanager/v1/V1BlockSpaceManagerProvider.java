package dev.tandem.blockmanager.v1;

import dev.tandem.api.Availability;
import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.block.BlockSpaceManagerProvider;

/** Placeholder until this module is implemented: reports itself unavailable. */
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
    return Availability.notImplementedYet();
  }

  @Override
  public BlockSpaceManager create(BlockManagerConfig config) {
    throw new UnsupportedOperationException("v1: not implemented yet");
  }
}
