package dev.tandem.core.tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Settings DJL reads from system properties or the environment, made safe before its first use:
 * offline mode (otherwise it contacts a server on every tokenizer creation) and a cache directory
 * for the native library it extracts from its jar. Values the user set are left alone.
 */
final class DjlEnvironment {
  private static final System.Logger LOG = System.getLogger(DjlEnvironment.class.getName());

  static final String OFFLINE_PROPERTY = "ai.djl.offline";
  static final String OFFLINE_ENV = "DJL_OFFLINE";
  static final String CACHE_DIR = "DJL_CACHE_DIR";

  private DjlEnvironment() {}

  private static boolean configured;

  /** Applies the settings once per JVM, before DJL's classes read them. */
  static synchronized void configure() {
    if (configured) {
      return;
    }
    configured = true;
    if (System.getProperty(OFFLINE_PROPERTY) == null && System.getenv(OFFLINE_ENV) == null) {
      System.setProperty(OFFLINE_PROPERTY, "true");
    }
    if (System.getProperty(CACHE_DIR) == null && System.getenv(CACHE_DIR) == null) {
      Path cache = writableCacheDir();
      System.setProperty(CACHE_DIR, cache.toString());
      LOG.log(System.Logger.Level.DEBUG, "DJL cache directory: {0}", cache);
    }
  }

  /** ~/.cache/tandem/djl, or a per-user folder under java.io.tmpdir when home is not writable. */
  private static Path writableCacheDir() {
    Path home = Path.of(System.getProperty("user.home"), ".cache", "tandem", "djl");
    try {
      Files.createDirectories(home);
      if (Files.isWritable(home)) {
        return home;
      }
    } catch (IOException | SecurityException e) {
      LOG.log(System.Logger.Level.DEBUG, "cannot use {0} for DJL: {1}", home, e);
    }
    return Path.of(
        System.getProperty("java.io.tmpdir"), "tandem-djl-" + System.getProperty("user.name"));
  }
}
