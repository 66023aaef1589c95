package dev.tandem.api;

/**
 * What every Tandem plugin provider has in common. Providers are found with {@link
 * java.util.ServiceLoader}, so implementations need a public no-argument constructor that does no
 * expensive work: probing hardware belongs in {@link #availability()}.
 */
public interface PluginProvider {

  /** The name users select this provider by: lower-case ASCII, unique within its kind. */
  String name();

  /** Higher wins when a provider of this kind is chosen automatically. */
  int priority();

  /** Whether this provider can be used here; called once per selection, may probe hardware. */
  Availability availability();

  /** One line for listings such as {@code tandem plugins}. */
  default String description() {
    return name();
  }
}
