package dev.tandem.core.config;

/**
 * A configuration value that cannot be used. The message names the key, the value, where it came
 * from and what is allowed.
 */
public final class ConfigException extends IllegalArgumentException {

  private final String key;

  ConfigException(String key, String message) {
    super(message);
    this.key = key;
  }

  /** The configuration key at fault, e.g. {@code block-size}. */
  public String key() {
    return key;
  }
}
