package dev.tandem.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The distribution the CLI runs from: {@code bin/tandem} passes its root as the system property
 * {@value #PROPERTY}. Its {@code models/numwords-t5} and {@code plugins/} are the CLI's defaults.
 */
record Home(Path root) {

  /** The system property the launcher sets to the distribution's root. */
  static final String PROPERTY = "tandem.home";

  /** The bundled model, relative to the distribution's root. */
  static final Path BUNDLED_MODEL = Path.of("models", "numwords-t5");

  /** The distribution of this process, if it was started by its launcher. */
  static Optional<Home> current() {
    String root = System.getProperty(PROPERTY);
    return root == null || root.isBlank()
        ? Optional.empty()
        : Optional.of(new Home(Path.of(root).toAbsolutePath().normalize()));
  }

  /** The bundled model's directory, if this distribution has it. */
  Optional<Path> bundledModel() {
    return directory(root.resolve(BUNDLED_MODEL));
  }

  /** The plugins directory, if this distribution has one. */
  Optional<Path> plugins() {
    return directory(root.resolve("plugins"));
  }

  /** {@code path} relative to the distribution's root when it lies inside it, for listings. */
  String display(Path path) {
    Path absolute = path.toAbsolutePath().normalize();
    return absolute.startsWith(root) ? root.relativize(absolute).toString() : absolute.toString();
  }

  private static Optional<Path> directory(Path dir) {
    return Files.isDirectory(dir) ? Optional.of(dir) : Optional.empty();
  }
}
