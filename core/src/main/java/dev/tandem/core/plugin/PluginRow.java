package dev.tandem.core.plugin;

import static java.util.Objects.requireNonNull;

import java.util.Optional;

/**
 * One line of a {@code tandem plugins} listing.
 *
 * @param kind backend or block manager
 * @param name the name it is selected by
 * @param priority its rank for {@code auto}, higher first
 * @param version its module's or jar's version, if declared
 * @param source where it was found
 * @param available whether it can be used here
 * @param reason why not, when unavailable; empty otherwise
 * @param autoChoice whether {@code auto} would choose it among its kind
 * @param description the provider's one-line description
 */
public record PluginRow(
    PluginKind kind,
    String name,
    int priority,
    Optional<String> version,
    PluginSource source,
    boolean available,
    String reason,
    boolean autoChoice,
    String description) {

  public PluginRow {
    requireNonNull(kind, "kind is null");
    requireNonNull(name, "name is null");
    requireNonNull(version, "version is null");
    requireNonNull(source, "source is null");
    requireNonNull(reason, "reason is null");
    requireNonNull(description, "description is null");
  }
}
