package dev.tandem.core.blockmanager;

import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.block.BlockSpaceManagerProvider;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Stream;

/**
 * The block managers under test: every {@link BlockSpaceManagerProvider} that {@link ServiceLoader}
 * finds on the test class path and that reports itself available. A provider that becomes available
 * (v2, once implemented) joins every parameterized test here automatically.
 *
 * <p>Use as {@code @MethodSource("dev.tandem.core.blockmanager.BlockManagers#names")}.
 */
final class BlockManagers {

  private BlockManagers() {}

  static List<BlockSpaceManagerProvider> available() {
    return ServiceLoader.load(BlockSpaceManagerProvider.class).stream()
        .map(ServiceLoader.Provider::get)
        .filter(p -> p.availability().available())
        .sorted(Comparator.comparing(BlockSpaceManagerProvider::name))
        .toList();
  }

  /** Names of the available providers, for {@code @MethodSource}. */
  static Stream<String> names() {
    return available().stream().map(BlockSpaceManagerProvider::name);
  }

  static BlockSpaceManager create(String name, BlockManagerConfig config) {
    return available().stream()
        .filter(p -> p.name().equals(name))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no available block manager " + name))
        .create(config);
  }

  /** A manager without prefix caching. */
  static BlockSpaceManager create(
      String name, int blockSize, int numGpuBlocks, int numCpuBlocks, double watermark) {
    return create(
        name, new BlockManagerConfig(blockSize, numGpuBlocks, numCpuBlocks, watermark, false));
  }
}
