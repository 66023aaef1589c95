package dev.tandem.core.plugin;

import static java.util.Objects.requireNonNull;

/**
 * A jar or folder of the plugins directory (or the application's own path) whose providers could
 * not be loaded; its providers are not offered.
 *
 * @param location the jar or folder; "the application" for the boot layer/class path
 * @param reason what went wrong
 */
public record PluginLoadFailure(String location, String reason) {

  public PluginLoadFailure {
    requireNonNull(location, "location is null");
    requireNonNull(reason, "reason is null");
  }

  static PluginLoadFailure of(String location, Throwable cause) {
    StringBuilder reason = new StringBuilder(String.valueOf(cause));
    for (Throwable c = cause.getCause(); c != null; c = c.getCause()) {
      reason.append("; caused by ").append(c);
    }
    return new PluginLoadFailure(location, reason.toString());
  }

  @Override
  public String toString() {
    return location + ": " + reason;
  }
}
