package dev.tandem.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EngineConfigTest {

  @TempDir Path tmp;

  /** The four explicit layers of one resolution; each test fills in what it needs. */
  private final Map<String, String> flags = new HashMap<>();

  private final Map<String, String> properties = new HashMap<>();
  private final Map<String, String> environment = new HashMap<>();
  private final Map<String, String> systemProperties = new HashMap<>();

  private EngineConfig resolve() {
    return EngineConfig.resolve(flags, propertiesFile(), environment, systemProperties);
  }

  private Optional<Path> propertiesFile() {
    if (properties.isEmpty()) {
      return Optional.empty();
    }
    StringBuilder text = new StringBuilder("# written by EngineConfigTest\n");
    properties.forEach((key, value) -> text.append(key).append('=').append(value).append('\n'));
    try {
      return Optional.of(Files.writeString(tmp.resolve("tandem.properties"), text));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void defaults() {
    EngineConfig config = EngineConfig.defaults();
    assertEquals(Path.of("models/numwords-t5"), config.model());
    assertEquals("auto", config.backend());
    assertEquals("v2", config.blockManager());
    assertEquals(Optional.empty(), config.pluginsDirectory());
    assertEquals(16, config.cache().blockSize());
    assertEquals(Optional.empty(), config.cache().kvCache());
    assertEquals(0.9, config.cache().gpuMemoryUtilization());
    assertEquals(new CacheSize.Bytes(1L << 30), config.cache().swapSpace());
    assertEquals(0.01, config.cache().watermark());
    assertEquals(false, config.cache().enablePrefixCaching());
    assertEquals(256, config.scheduler().maxNumSeqs());
    assertEquals(OptionalInt.empty(), config.scheduler().maxNumBatchedTokens());
    assertEquals(OptionalInt.empty(), config.scheduler().maxModelLen());
    assertEquals(PreemptionMode.RECOMPUTE, config.scheduler().preemption());
    assertEquals(0, config.numThreads());
    assertEquals(Map.of(), config.backendOptions());
  }

  /**
   * Sets a different value in every layer, then removes the layers from the top one by one: each
   * time the next layer's value must show.
   */
  @ParameterizedTest
  @CsvSource({
    "block-size, TANDEM_BLOCK_SIZE, 8, 24, 32, 64",
    "max-num-seqs, TANDEM_MAX_NUM_SEQS, 1, 2, 3, 4",
    "backend, TANDEM_BACKEND, cpu, opencl, cuda, mine",
    "preemption, TANDEM_PREEMPTION, swap, recompute, swap, recompute",
    "enable-prefix-caching, TANDEM_ENABLE_PREFIX_CACHING, true, false, true, false",
  })
  void eachLayerOverridesTheNext(
      String key, String envName, String file, String env, String sysprop, String flag) {
    Function<EngineConfig, String> read =
        config ->
            switch (key) {
              case "block-size" -> String.valueOf(config.cache().blockSize());
              case "max-num-seqs" -> String.valueOf(config.scheduler().maxNumSeqs());
              case "backend" -> config.backend();
              case "preemption" -> config.scheduler().preemption().name().toLowerCase(Locale.ROOT);
              case "enable-prefix-caching" -> String.valueOf(config.cache().enablePrefixCaching());
              default -> throw new IllegalArgumentException(key);
            };
    String defaultValue = read.apply(EngineConfig.defaults());
    properties.put(key, file);
    environment.put(envName, env);
    systemProperties.put("tandem." + key, sysprop);
    flags.put(key, flag);

    assertEquals(flag, read.apply(resolve()), "flag beats everything");
    flags.clear();
    assertEquals(sysprop, read.apply(resolve()), "system property beats environment");
    systemProperties.clear();
    assertEquals(env, read.apply(resolve()), "environment beats the file");
    environment.clear();
    assertEquals(file, read.apply(resolve()), "the file beats the default");
    properties.clear();
    assertEquals(defaultValue, read.apply(resolve()));
  }

  /** Every key is read from every layer under its layer's name, and changes the result. */
  @Test
  void everyKeyCanBeSetInEveryLayer() {
    EngineConfig defaults = EngineConfig.defaults();
    for (String key : EngineConfig.knownKeys()) {
      String value = validValue(key);
      environment.put("TANDEM_" + key.toUpperCase(Locale.ROOT).replace('-', '_'), value);
      assertNotEquals(defaults, resolve(), "environment: " + key);
      environment.clear();
      systemProperties.put("tandem." + key, value);
      assertNotEquals(defaults, resolve(), "system property: " + key);
      systemProperties.clear();
      properties.put(key, value);
      assertNotEquals(defaults, resolve(), "file: " + key);
      properties.clear();
      flags.put(key, value);
      assertNotEquals(defaults, resolve(), "flag: " + key);
      flags.clear();
    }
  }

  /** A valid value for {@code key} that differs from its default. */
  private static String validValue(String key) {
    return switch (key) {
      case "model", "plugins" -> "some/dir";
      case "backend", "block-manager" -> "v1";
      case "gpu-memory-utilization", "watermark" -> "0.5";
      case "enable-prefix-caching" -> "true";
      case "preemption" -> "swap";
      case "kv-cache-memory", "swap-space" -> "64m";
      default -> "7";
    };
  }

  @Test
  void allSettingsReachTheRecords() {
    flags.putAll(
        Map.of(
            "model", "m/x",
            "plugins", "p",
            "block-manager", "V1",
            "num-kv-blocks", "100",
            "gpu-memory-utilization", "0.5",
            "swap-blocks", "7",
            "watermark", "0",
            "max-num-batched-tokens", "4096",
            "max-model-len", "512",
            "num-threads", "2"));
    flags.put("backend.opencl.device", "1");
    EngineConfig config = resolve();
    assertEquals(Path.of("m/x"), config.model());
    assertEquals(Optional.of(Path.of("p")), config.pluginsDirectory());
    assertEquals("v1", config.blockManager(), "names are lower-cased");
    assertEquals(Optional.of(new CacheSize.Blocks(100)), config.cache().kvCache());
    assertEquals(0.5, config.cache().gpuMemoryUtilization());
    assertEquals(new CacheSize.Blocks(7), config.cache().swapSpace());
    assertEquals(0.0, config.cache().watermark());
    assertEquals(OptionalInt.of(4096), config.scheduler().maxNumBatchedTokens());
    assertEquals(OptionalInt.of(512), config.scheduler().maxModelLen());
    assertEquals(2, config.backendConfig().numThreads());
    assertEquals("1", config.backendConfig().option("opencl.device", "0"));
  }

  @ParameterizedTest
  @CsvSource({"1024, 1024", "1k, 1024", "512m, 536870912", "4GiB, 4294967296", "2 gb, 2147483648"})
  void byteSizes(String text, long bytes) {
    flags.put("kv-cache-memory", text);
    assertEquals(Optional.of(new CacheSize.Bytes(bytes)), resolve().cache().kvCache());
  }

  @Test
  void blocksAndBytesForOnePoolComeFromTheHigherLayer() {
    properties.put("kv-cache-memory", "2g");
    flags.put("num-kv-blocks", "100");
    assertEquals(Optional.of(new CacheSize.Blocks(100)), resolve().cache().kvCache());

    properties.clear();
    environment.put("TANDEM_SWAP_BLOCKS", "5");
    assertEquals(new CacheSize.Blocks(5), resolve().cache().swapSpace(), "beats the default");

    flags.put("kv-cache-memory", "1g");
    ConfigException e = assertThrows(ConfigException.class, this::resolve);
    assertTrue(
        e.getMessage().contains("num-kv-blocks") && e.getMessage().contains("kv-cache-memory"));
  }

  @Test
  void invalidValueNamesKeyValueLayerAndWhatIsAllowed() {
    environment.put("TANDEM_BLOCK_SIZE", "sixteen");
    ConfigException e = assertThrows(ConfigException.class, this::resolve);
    assertEquals("block-size", e.key());
    assertTrue(e.getMessage().contains("'sixteen'"), e.getMessage());
    assertTrue(e.getMessage().contains("environment variable TANDEM_BLOCK_SIZE"), e.getMessage());
    assertTrue(e.getMessage().contains("an integer in [1, 1024]"), e.getMessage());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "block-size | 0 | [1, 1024]",
        "watermark | 1.5 | [0, 1)",
        "gpu-memory-utilization | 0 | (0, 1]",
        "preemption | never | recompute, swap",
        "enable-prefix-caching | yes | true or false",
        "max-num-seqs | -1 | >= 1",
        "num-threads | 2.5 | >= 0",
        "swap-space | lots | byte count",
        "backend | CU DA | plugin name",
      })
  void invalidValuesInTheFileAreRejected(String key, String value, String allowed) {
    properties.put(key, value);
    ConfigException e = assertThrows(ConfigException.class, this::resolve);
    assertEquals(key, e.key());
    assertTrue(e.getMessage().contains("'" + value + "'"), e.getMessage());
    assertTrue(
        e.getMessage().contains(tmp.resolve("tandem.properties").toString()), e.getMessage());
    assertTrue(e.getMessage().contains(allowed), e.getMessage());
  }

  @Test
  void unknownKeysInFlagsOrFileAreRejectedListingTheKnownOnes() {
    flags.put("blok-size", "16");
    ConfigException flag = assertThrows(ConfigException.class, this::resolve);
    assertEquals("blok-size", flag.key());
    assertTrue(flag.getMessage().contains("flag --blok-size"), flag.getMessage());
    for (String known : EngineConfig.knownKeys()) {
      assertTrue(flag.getMessage().contains(known), flag.getMessage());
    }

    flags.clear();
    properties.put("max-num-seq", "3");
    ConfigException file = assertThrows(ConfigException.class, this::resolve);
    assertEquals("max-num-seq", file.key());
  }

  @Test
  void unrelatedEnvironmentAndSystemPropertiesAreIgnored() {
    environment.put("TANDEM_HOME", "/opt/tandem");
    systemProperties.put("tandem.home", "/opt/tandem");
    systemProperties.put("user.dir", "/");
    assertEquals(EngineConfig.defaults(), resolve());
  }

  @Test
  void backendOptionsFromSystemPropertiesAndFile() {
    properties.put("backend.cuda.tf32", "true");
    systemProperties.put("tandem.backend.cuda.tf32", "false");
    assertEquals(Map.of("cuda.tf32", "false"), resolve().backendOptions());
  }

  @Test
  void missingPropertiesFileIsAnError() {
    Path missing = tmp.resolve("nope.properties");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> EngineConfig.resolve(Map.of(), Optional.of(missing), Map.of(), Map.of()));
    assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
  }

  @Test
  void defaultPropertiesFileIsUsedOnlyWhenPresent() throws IOException {
    assertEquals(Optional.empty(), EngineConfig.defaultPropertiesFile(tmp));
    Path file = Files.writeString(tmp.resolve("tandem.properties"), "block-size=32\n");
    assertEquals(Optional.of(file), EngineConfig.defaultPropertiesFile(tmp));
  }
}
