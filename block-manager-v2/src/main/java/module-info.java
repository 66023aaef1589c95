/** Tandem plugin "v2": Block space manager v2. */
module dev.tandem.blockmanager.v2 {
  requires dev.tandem.api;

  provides dev.tandem.api.block.BlockSpaceManagerProvider with
      dev.tandem.blockmanager.v2.V2BlockSpaceManagerProvider;
}
