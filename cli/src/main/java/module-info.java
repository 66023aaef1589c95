/** The {@code tandem} command line. */
module dev.tandem.cli {
  requires dev.tandem.core;
  requires info.picocli;
  requires com.fasterxml.jackson.databind;
  requires java.logging;

  opens dev.tandem.cli to
      info.picocli;
}
