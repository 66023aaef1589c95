package dev.tandem.core.config;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.backend.BackendConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;

/**
 * Everything the engine is configured with.
 *
 * <p>Resolved by {@link #resolve} from layers, highest precedence first: command-line flags, system
 * properties {@code tandem.<key>}, environment variables {@code TANDEM_<KEY>} (upper-case, '-' and
 * '.' as '_'), a {@code tandem.properties} file, defaults. Keys and defaults are listed in the
 * README's "Configuration" section.
 *
 * @param model the model directory
 * @param backend the attention backend's name, or {@link #AUTO}
 * @param blockManager the block space manager's name, or {@link #AUTO}
 * @param pluginsDirectory where plugin jars are found besides the application's own module/class
 *     path; empty: none
 * @param cache the paged KV cache
 * @param scheduler per-step budgets and preemption
 * @param numThreads host threads for the backend; 0: one per available processor
 * @param backendOptions backend-specific options ({@code backend.<option>} keys, prefix removed)
 */
public record EngineConfig(
    Path model,
    String backend,
    String blockManager,
    Optional<Path> pluginsDirectory,
    CacheConfig cache,
    SchedulerConfig scheduler,
    int numThreads,
    Map<String, String> backendOptions) {

  /** The provider name that asks for automatic selection. */
  public static final String AUTO = "auto";

  /** The properties file read when none is given and it exists in the working directory. */
  public static final String PROPERTIES_FILE_NAME = "tandem.properties";

  public EngineConfig {
    requireNonNull(model, "model is null");
    requireNonNull(backend, "backend is null");
    requireNonNull(blockManager, "blockManager is null");
    requireNonNull(pluginsDirectory, "pluginsDirectory is null");
    requireNonNull(cache, "cache is null");
    requireNonNull(scheduler, "scheduler is null");
    if (numThreads < 0) {
      throw new IllegalArgumentException("numThreads=" + numThreads + ": must be >= 0");
    }
    backendOptions = Map.copyOf(requireNonNull(backendOptions, "backendOptions is null"));
  }

  /** This configuration with the backend named (e.g. the one {@link #AUTO} chose). */
  public EngineConfig withBackend(String name) {
    return new EngineConfig(
        model, name, blockManager, pluginsDirectory, cache, scheduler, numThreads, backendOptions);
  }

  /** The defaults alone: no flags, environment, system properties or file. */
  public static EngineConfig defaults() {
    return resolve(Map.of(), Optional.empty(), Map.of(), Map.of());
  }

  /**
   * Resolves the configuration of this process: {@code flags}, then {@link System#getProperties()},
   * then {@link System#getenv()}, then {@code propertiesFile} (or {@code ./tandem.properties} if
   * none is given and it exists), then defaults.
   *
   * @param flags values given on the command line, by key (e.g. {@code "block-size" -> "32"})
   * @param propertiesFile a properties file that must exist, or empty for the default one
   * @throws ConfigException for an unknown key in {@code flags} or the file, or an invalid value
   * @throws IllegalArgumentException if {@code propertiesFile} does not exist
   */
  public static EngineConfig resolve(Map<String, String> flags, Optional<Path> propertiesFile) {
    requireNonNull(propertiesFile, "propertiesFile is null");
    return resolve(
        flags,
        propertiesFile.or(() -> defaultPropertiesFile(Path.of(""))),
        System.getenv(),
        asMap(System.getProperties()));
  }

  /**
   * Resolves from explicitly given layers; for tests and embedders.
   *
   * @param flags values by key, highest precedence
   * @param propertiesFile a properties file that must exist; empty: no file layer
   * @param environment environment variables by name ({@code TANDEM_BLOCK_SIZE})
   * @param systemProperties system properties by name ({@code tandem.block-size}); other names are
   *     ignored
   */
  public static EngineConfig resolve(
      Map<String, String> flags,
      Optional<Path> propertiesFile,
      Map<String, String> environment,
      Map<String, String> systemProperties) {
    ConfigResolver values =
        ConfigResolver.collect(flags, propertiesFile, environment, systemProperties);
    CacheConfig cache =
        new CacheConfig(
            values.integer(ConfigKey.BLOCK_SIZE, 1, 1024),
            values.cacheSize(ConfigKey.NUM_KV_BLOCKS, ConfigKey.KV_CACHE_MEMORY),
            values.decimal(
                ConfigKey.GPU_MEMORY_UTILIZATION, f -> f > 0 && f <= 1, "a number in (0, 1]"),
            values.cacheSize(ConfigKey.SWAP_BLOCKS, ConfigKey.SWAP_SPACE).orElseThrow(),
            values.decimal(ConfigKey.WATERMARK, f -> f >= 0 && f < 1, "a number in [0, 1)"),
            values.bool(ConfigKey.ENABLE_PREFIX_CACHING));
    SchedulerConfig scheduler =
        new SchedulerConfig(
            values.integer(ConfigKey.MAX_NUM_SEQS, 1, Integer.MAX_VALUE),
            values.optionalInteger(ConfigKey.MAX_NUM_BATCHED_TOKENS, 1, Integer.MAX_VALUE),
            values.optionalInteger(ConfigKey.MAX_MODEL_LEN, 1, Integer.MAX_VALUE),
            values.choice(ConfigKey.PREEMPTION, PreemptionMode.class),
            values.integer(ConfigKey.NUM_SCHEDULER_STEPS, 1, 64));
    return new EngineConfig(
        values.path(ConfigKey.MODEL),
        values.pluginName(ConfigKey.BACKEND),
        values.pluginName(ConfigKey.BLOCK_MANAGER),
        values.optionalPath(ConfigKey.PLUGINS),
        cache,
        scheduler,
        values.integer(ConfigKey.NUM_THREADS, 0, Integer.MAX_VALUE),
        values.backendOptions());
  }

  /** Every configuration key, in the README's order. */
  public static List<String> knownKeys() {
    return Arrays.stream(ConfigKey.values()).map(ConfigKey::key).toList();
  }

  /** What the backend is created with: {@link #numThreads} and {@link #backendOptions}. */
  public BackendConfig backendConfig() {
    return new BackendConfig(numThreads, backendOptions);
  }

  /** {@code dir/tandem.properties} if it is a file. */
  static Optional<Path> defaultPropertiesFile(Path dir) {
    Path file = dir.resolve(PROPERTIES_FILE_NAME);
    return Files.isRegularFile(file) ? Optional.of(file) : Optional.empty();
  }

  private static Map<String, String> asMap(Properties properties) {
    Map<String, String> map = new TreeMap<>();
    properties.stringPropertyNames().forEach(name -> map.put(name, properties.getProperty(name)));
    return map;
  }
}
