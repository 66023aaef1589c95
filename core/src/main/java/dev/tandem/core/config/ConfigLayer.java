package dev.tandem.core.config;

import java.util.Locale;

/** Where a configuration value came from, lowest precedence first. */
enum ConfigLayer {
  DEFAULT,
  PROPERTIES_FILE,
  ENVIRONMENT,
  SYSTEM_PROPERTY,
  CLI_FLAG;

  /** {@code TANDEM_} + the key upper-cased, with '-' and '.' turned into '_'. */
  static String environmentName(String key) {
    return "TANDEM_" + key.toUpperCase(Locale.ROOT).replace('-', '_').replace('.', '_');
  }
}
