package dev.tandem.core.config;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Properties;
import java.util.TreeMap;
import java.util.function.DoublePredicate;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Collects raw values from every layer, keeps the one of highest precedence per key, and parses
 * them with errors that name the key, the value, its origin and what is allowed.
 */
final class ConfigResolver {

  private static final Pattern PLUGIN_NAME = Pattern.compile("[a-z0-9][a-z0-9_.-]*");
  private static final Pattern BYTE_SIZE =
      Pattern.compile("(\\d+)\\s*([kmgt]?)(i?b)?", Pattern.CASE_INSENSITIVE);

  /** A raw value and where it came from, e.g. "environment variable TANDEM_BLOCK_SIZE". */
  private record Setting(String value, ConfigLayer layer, String origin) {}

  private final Map<String, Setting> settings = new HashMap<>();

  private ConfigResolver() {}

  static ConfigResolver collect(
      Map<String, String> flags,
      Optional<Path> propertiesFile,
      Map<String, String> environment,
      Map<String, String> systemProperties) {
    requireNonNull(flags, "flags is null");
    requireNonNull(propertiesFile, "propertiesFile is null");
    requireNonNull(environment, "environment is null");
    requireNonNull(systemProperties, "systemProperties is null");
    ConfigResolver resolver = new ConfigResolver();
    for (ConfigKey key : ConfigKey.values()) {
      key.defaultValue().ifPresent(v -> resolver.put(key.key(), v, ConfigLayer.DEFAULT, "default"));
    }
    propertiesFile.ifPresent(
        file ->
            readProperties(file)
                .forEach(
                    (key, value) ->
                        resolver.putChecked(
                            key, value, ConfigLayer.PROPERTIES_FILE, "in " + file)));
    for (ConfigKey key : ConfigKey.values()) {
      String name = ConfigLayer.environmentName(key.key());
      String value = environment.get(name);
      if (value != null) {
        resolver.put(key.key(), value, ConfigLayer.ENVIRONMENT, "environment variable " + name);
      }
    }
    // Only keys Tandem knows: other tandem.* properties may belong to a launcher.
    systemProperties.forEach(
        (name, value) -> {
          if (name.startsWith("tandem.")) {
            String key = name.substring("tandem.".length());
            if (isKnown(key)) {
              resolver.put(key, value, ConfigLayer.SYSTEM_PROPERTY, "system property " + name);
            }
          }
        });
    flags.forEach(
        (key, value) -> resolver.putChecked(key, value, ConfigLayer.CLI_FLAG, "flag --" + key));
    return resolver;
  }

  private static boolean isKnown(String key) {
    return ConfigKey.byKey(key).isPresent()
        || (key.startsWith(ConfigKey.BACKEND_OPTION_PREFIX)
            && key.length() > ConfigKey.BACKEND_OPTION_PREFIX.length());
  }

  private void putChecked(String key, String value, ConfigLayer layer, String origin) {
    if (!isKnown(key)) {
      throw new ConfigException(
          key,
          "unknown configuration key '"
              + key
              + "' ("
              + origin
              + "); known keys: "
              + Arrays.stream(ConfigKey.values())
                  .map(ConfigKey::key)
                  .collect(Collectors.joining(", "))
              + ", and "
              + ConfigKey.BACKEND_OPTION_PREFIX
              + "<option> for backend options");
    }
    put(key, value, layer, origin);
  }

  private void put(String key, String value, ConfigLayer layer, String origin) {
    requireNonNull(value, () -> "value of " + key + " (" + origin + ") is null");
    Setting earlier = settings.get(key);
    if (earlier == null || earlier.layer().compareTo(layer) <= 0) {
      settings.put(key, new Setting(value.strip(), layer, origin));
    }
  }

  private static Map<String, String> readProperties(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("properties file " + file + " does not exist");
    }
    Properties properties = new Properties();
    try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      properties.load(reader);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read properties file " + file, e);
    }
    Map<String, String> values = new TreeMap<>();
    properties
        .stringPropertyNames()
        .forEach(name -> values.put(name, properties.getProperty(name)));
    return values;
  }

  // ---- typed values

  /** Backend options: every {@code backend.<option>} key, without the prefix. */
  Map<String, String> backendOptions() {
    Map<String, String> options = new TreeMap<>();
    settings.forEach(
        (key, setting) -> {
          if (key.startsWith(ConfigKey.BACKEND_OPTION_PREFIX)) {
            options.put(key.substring(ConfigKey.BACKEND_OPTION_PREFIX.length()), setting.value());
          }
        });
    return options;
  }

  Path path(ConfigKey key) {
    return optionalPath(key).orElseThrow();
  }

  Optional<Path> optionalPath(ConfigKey key) {
    return parse(key, "a file system path", text -> text.isEmpty() ? null : Path.of(text));
  }

  /** A provider name, lower-cased: lower-case ASCII letters, digits, '.', '_', '-'. */
  String pluginName(ConfigKey key) {
    return parse(
            key,
            "a plugin name (letters, digits, '.', '_', '-'), or " + EngineConfig.AUTO,
            text -> {
              String name = text.toLowerCase(Locale.ROOT);
              return PLUGIN_NAME.matcher(name).matches() ? name : null;
            })
        .orElseThrow();
  }

  int integer(ConfigKey key, int min, int max) {
    return optionalInteger(key, min, max).orElseThrow();
  }

  OptionalInt optionalInteger(ConfigKey key, int min, int max) {
    String allowed =
        max == Integer.MAX_VALUE
            ? "an integer >= " + min
            : "an integer in [" + min + ", " + max + "]";
    Optional<Integer> value =
        parse(
            key,
            allowed,
            text -> {
              int parsed = Integer.parseInt(text);
              return parsed >= min && parsed <= max ? parsed : null;
            });
    return value.map(OptionalInt::of).orElse(OptionalInt.empty());
  }

  double decimal(ConfigKey key, DoublePredicate valid, String allowed) {
    return parse(
            key,
            allowed,
            text -> {
              double parsed = Double.parseDouble(text);
              return valid.test(parsed) ? parsed : null;
            })
        .orElseThrow();
  }

  boolean bool(ConfigKey key) {
    return parse(
            key,
            "true or false",
            text ->
                switch (text.toLowerCase(Locale.ROOT)) {
                  case "true" -> Boolean.TRUE;
                  case "false" -> Boolean.FALSE;
                  default -> null;
                })
        .orElseThrow();
  }

  <E extends Enum<E>> E choice(ConfigKey key, Class<E> type) {
    E[] constants = type.getEnumConstants();
    String allowed =
        "one of "
            + Arrays.stream(constants)
                .map(c -> c.name().toLowerCase(Locale.ROOT))
                .collect(Collectors.joining(", "));
    return parse(
            key,
            allowed,
            text -> {
              for (E constant : constants) {
                if (constant.name().equalsIgnoreCase(text)) {
                  return constant;
                }
              }
              return null;
            })
        .orElseThrow();
  }

  /**
   * A size given either in blocks or in bytes. When both keys are set, the one from the layer of
   * higher precedence wins; both in the same layer is an error.
   */
  Optional<CacheSize> cacheSize(ConfigKey blocksKey, ConfigKey bytesKey) {
    Setting blocks = settings.get(blocksKey.key());
    Setting bytes = settings.get(bytesKey.key());
    if (blocks != null && bytes != null && blocks.layer() == bytes.layer()) {
      throw new ConfigException(
          blocksKey.key(),
          blocksKey.key()
              + " ("
              + blocks.origin()
              + ") and "
              + bytesKey.key()
              + " ("
              + bytes.origin()
              + ") both size the same pool: set only one of them");
    }
    if (blocks != null && (bytes == null || blocks.layer().compareTo(bytes.layer()) > 0)) {
      return Optional.of(new CacheSize.Blocks(integer(blocksKey, 0, Integer.MAX_VALUE)));
    }
    return parse(
        bytesKey,
        "a byte count, optionally with a binary suffix k, m, g or t (e.g. 512m, 4g)",
        text -> {
          Matcher m = BYTE_SIZE.matcher(text);
          return m.matches() ? new CacheSize.Bytes(bytes(m)) : null;
        });
  }

  private static long bytes(Matcher m) {
    int shift =
        switch (m.group(2).toLowerCase(Locale.ROOT)) {
          case "k" -> 10;
          case "m" -> 20;
          case "g" -> 30;
          case "t" -> 40;
          default -> 0;
        };
    long count = Long.parseLong(m.group(1));
    if (count > (Long.MAX_VALUE >> shift)) {
      throw new NumberFormatException("too large");
    }
    return count << shift;
  }

  /**
   * Parses the value of {@code key}, if any layer set it. {@code parser} returns null (or throws
   * {@link IllegalArgumentException}, e.g. {@link NumberFormatException}) for invalid text.
   */
  private <T> Optional<T> parse(ConfigKey key, String allowed, Function<String, T> parser) {
    Setting setting = settings.get(key.key());
    if (setting == null) {
      return Optional.empty();
    }
    T value;
    try {
      value = parser.apply(setting.value());
    } catch (IllegalArgumentException e) { // NumberFormatException, InvalidPathException {
      value = null;
    }
    if (value == null) {
      throw new ConfigException(
          key.key(),
          "invalid "
              + key.key()
              + " '"
              + setting.value()
              + "' ("
              + setting.origin()
              + "): expected "
              + allowed);
    }
    return Optional.of(value);
  }
}
