package dev.tandem.core.plugin;

import java.util.List;
import java.util.Optional;

/** The in-tree plugins, so that asking for a missing one can say which jar would provide it. */
final class KnownPlugins {

  /**
   * @param artifact the Maven artifact / jar name prefix
   * @param module the JPMS module name
   */
  record Known(PluginKind kind, String name, String artifact, String module) {}

  private static final List<Known> KNOWN =
      List.of(
          new Known(
              PluginKind.BLOCK_MANAGER,
              "v1",
              "tandem-block-manager-v1",
              "dev.tandem.blockmanager.v1"),
          new Known(
              PluginKind.BLOCK_MANAGER,
              "v2",
              "tandem-block-manager-v2",
              "dev.tandem.blockmanager.v2"),
          new Known(PluginKind.BACKEND, "cpu", "tandem-backend-cpu", "dev.tandem.backend.cpu"),
          new Known(
              PluginKind.BACKEND, "opencl", "tandem-backend-opencl", "dev.tandem.backend.opencl"),
          new Known(PluginKind.BACKEND, "cuda", "tandem-backend-cuda", "dev.tandem.backend.cuda"));

  private KnownPlugins() {}

  /** A hint for a missing {@code name} of {@code kind}: which jar provides it; or empty. */
  static Optional<String> hint(PluginKind kind, String name) {
    return KNOWN.stream()
        .filter(known -> known.name().equals(name))
        .findFirst()
        .map(
            known ->
                known.kind() == kind
                    ? name
                        + " is provided by "
                        + known.artifact()
                        + " (module "
                        + known.module()
                        + "); put its jar in the plugins directory"
                    : name + " is a " + known.kind().noun() + ", not a " + kind.noun());
  }
}
