/** Tandem plugin "v1": Block space manager v1. */
module dev.tandem.blockmanager.v1 {
  requires dev.tandem.api;

  provides dev.tandem.api.block.BlockSpaceManagerProvider with
      dev.tandem.blockmanager.v1.V1BlockSpaceManagerProvider;
}
