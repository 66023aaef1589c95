package dev.tandem.core.model;

import dev.tandem.api.PluginProvider;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.block.BlockSpaceManagerProvider;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/**
 * The backends and block managers this test run can use: every provider on the class path that
 * reports itself available, and for backends, where the system property {@code
 * tandem.test.backends} lists names, only those (scripts/gpu-check.sh runs the model tests again
 * with CUDA graphs on cuda alone). The others are printed once with their reasons, so that a run
 * says what it did not cover.
 */
public final class Providers {

  private static final List<AttentionBackendProvider> BACKENDS =
      available(
          AttentionBackendProvider.class, "backend", System.getProperty("tandem.test.backends"));
  private static final List<BlockSpaceManagerProvider> BLOCK_MANAGERS =
      available(BlockSpaceManagerProvider.class, "block manager", null);

  private Providers() {}

  public static List<AttentionBackendProvider> backends() {
    return BACKENDS;
  }

  /**
   * The backends for the long sequential runs: those of priority at least the CPU backend's (100),
   * which leaves out an OpenCL CPU device (50), slow per step and covered by the batch tests.
   */
  static List<AttentionBackendProvider> fastBackends() {
    return BACKENDS.stream().filter(p -> p.priority() >= 100).toList();
  }

  static List<BlockSpaceManagerProvider> blockManagers() {
    return BLOCK_MANAGERS;
  }

  /** Providers of {@code kind}, only those named in {@code only} (comma-separated) unless null. */
  private static <P extends PluginProvider> List<P> available(
      Class<P> kind, String what, String only) {
    List<String> names = only == null ? null : List.of(only.split(","));
    List<P> all =
        ServiceLoader.load(kind).stream()
            .map(ServiceLoader.Provider::get)
            .filter(
                p -> {
                  boolean wanted = names == null || names.contains(p.name());
                  if (!wanted) {
                    System.out.println(
                        "skipping " + what + " " + p.name() + ": not in tandem.test.backends");
                  }
                  return wanted;
                })
            .sorted(Comparator.comparing(PluginProvider::name))
            .toList();
    for (P provider : all) {
      if (!provider.availability().available()) {
        System.out.println(
            "skipping " + what + " " + provider.name() + ": " + provider.availability().reason());
      }
    }
    List<P> usable = all.stream().filter(p -> p.availability().available()).toList();
    System.out.println(
        "testing "
            + what
            + "s: "
            + usable.stream().map(PluginProvider::name).collect(Collectors.joining(", ")));
    return usable;
  }
}
