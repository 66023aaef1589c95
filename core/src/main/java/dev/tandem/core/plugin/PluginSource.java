package dev.tandem.core.plugin;

import static java.util.Objects.requireNonNull;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.Optional;

/**
 * Where a provider was found, for messages and listings.
 *
 * @param module the provider's module name; empty for a class on the class path
 * @param location the jar or classes directory; empty when unknown
 * @param version the module's or jar's version, when it declares one
 */
public record PluginSource(
    Optional<String> module, Optional<Path> location, Optional<String> version) {

  public PluginSource {
    requireNonNull(module, "module is null");
    requireNonNull(location, "location is null");
    requireNonNull(version, "version is null");
  }

  /** The source of {@code type}: its named module, or the class path entry it was loaded from. */
  public static PluginSource of(Class<?> type) {
    requireNonNull(type, "type is null");
    Module module = type.getModule();
    if (module.isNamed()) {
      Optional<Path> location =
          Optional.ofNullable(module.getLayer())
              .flatMap(layer -> layer.configuration().findModule(module.getName()))
              .flatMap(resolved -> resolved.reference().location())
              .flatMap(PluginSource::filePath);
      return new PluginSource(
          Optional.of(module.getName()), location, module.getDescriptor().rawVersion());
    }
    Optional<Path> location =
        Optional.ofNullable(type.getProtectionDomain().getCodeSource())
            .map(CodeSource::getLocation)
            .flatMap(
                url -> {
                  try {
                    return filePath(url.toURI());
                  } catch (URISyntaxException e) {
                    return Optional.empty();
                  }
                });
    return new PluginSource(
        Optional.empty(),
        location,
        Optional.ofNullable(type.getPackage().getImplementationVersion()));
  }

  private static Optional<Path> filePath(URI uri) {
    return "file".equals(uri.getScheme()) ? Optional.of(Path.of(uri)) : Optional.empty();
  }

  /**
   * "module dev.tandem.backend.cpu (/opt/tandem/lib/cpu.jar)", or the jar alone on the class path.
   */
  @Override
  public String toString() {
    String where = location.map(Path::toString).orElse("unknown location");
    return module.map(name -> "module " + name + " (" + where + ")").orElse(where);
  }
}
