/** The {@code tandem} command line. */
module dev.tandem.cli {
  requires dev.tandem.core;
  requires info.picocli;

  opens dev.tandem.cli to
      info.picocli;
}
