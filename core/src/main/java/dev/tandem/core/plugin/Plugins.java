package dev.tandem.core.plugin;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.Availability;
import dev.tandem.api.PluginProvider;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.block.BlockSpaceManagerProvider;
import dev.tandem.core.config.EngineConfig;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The plugin providers found at startup, by kind and name; chooses one by name or {@code auto}.
 *
 * <p>Lookup order: the application's module path (boot layer) and class path, then every jar and
 * sub-folder of jars in the plugins directory, each in a module layer (or class loader) of its own.
 * Names are unique per kind: two providers of one name are an error that names both sources. {@code
 * auto} chooses the available provider of highest {@link PluginProvider#priority()} (ties: by name)
 * and logs the choice and every rejected candidate with its reason.
 *
 * <p>{@link PluginProvider#availability()} is asked once per provider and remembered. Instances are
 * thread-safe.
 */
public final class Plugins {

  private static final System.Logger LOG = System.getLogger(Plugins.class.getName());
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_.-]*");

  /** Highest priority first; ties by name, so that the choice does not depend on jar order. */
  private static final Comparator<DiscoveredProvider<?>> RANK =
      Comparator.comparingInt((DiscoveredProvider<?> p) -> p.provider().priority())
          .reversed()
          .thenComparing(DiscoveredProvider::name);

  private final Map<PluginKind, Map<String, DiscoveredProvider<?>>> byKind =
      new EnumMap<>(PluginKind.class);
  private final List<PluginLoadFailure> failures;
  private final Optional<Path> pluginsDirectory;
  private final Map<DiscoveredProvider<?>, Availability> availabilities = new ConcurrentHashMap<>();

  private Plugins(
      Collection<? extends DiscoveredProvider<?>> providers,
      List<PluginLoadFailure> failures,
      Optional<Path> pluginsDirectory) {
    this.failures = List.copyOf(failures);
    this.pluginsDirectory = pluginsDirectory;
    for (PluginKind kind : PluginKind.values()) {
      byKind.put(kind, new TreeMap<>());
    }
    for (DiscoveredProvider<?> provider : providers) {
      String name = provider.name();
      if (name == null || !NAME.matcher(name).matches()) {
        throw new IllegalStateException(
            provider.kind().noun()
                + " provider "
                + provider.provider().getClass().getName()
                + " from "
                + provider.source()
                + " has an invalid name '"
                + name
                + "': names are lower-case ASCII letters, digits, '.', '_' and '-'");
      }
      DiscoveredProvider<?> earlier = byKind.get(provider.kind()).putIfAbsent(name, provider);
      if (earlier != null) {
        throw new IllegalStateException(
            "two "
                + provider.kind().noun()
                + " providers are named '"
                + name
                + "': one from "
                + earlier.source()
                + " and one from "
                + provider.source()
                + "; remove one of them");
      }
    }
  }

  /**
   * Finds every provider on the application's module/class path and, if given, in {@code
   * pluginsDirectory}. Jars or folders that fail to load are skipped and reported by {@link
   * #failures()}.
   *
   * @throws IllegalArgumentException if {@code pluginsDirectory} is not a directory
   * @throws IllegalStateException if two providers of one kind share a name, or a name is invalid
   */
  public static Plugins discover(Optional<Path> pluginsDirectory) {
    requireNonNull(pluginsDirectory, "pluginsDirectory is null");
    PluginLoader.Found found = PluginLoader.load(pluginsDirectory);
    return new Plugins(found.providers(), found.failures(), pluginsDirectory);
  }

  /**
   * Plugins made of the given providers only; for tests and embedders that construct providers
   * themselves.
   *
   * @throws IllegalStateException if two providers of one kind share a name, or a name is invalid
   */
  public static Plugins of(Collection<? extends DiscoveredProvider<?>> providers) {
    return new Plugins(requireNonNull(providers, "providers is null"), List.of(), Optional.empty());
  }

  /** The backends found, by name. */
  public List<DiscoveredProvider<AttentionBackendProvider>> backends() {
    return all(PluginKind.BACKEND);
  }

  /** The block managers found, by name. */
  public List<DiscoveredProvider<BlockSpaceManagerProvider>> blockManagers() {
    return all(PluginKind.BLOCK_MANAGER);
  }

  /** Jars or folders whose providers could not be loaded. */
  public List<PluginLoadFailure> failures() {
    return failures;
  }

  /**
   * The backend of this name, available or not.
   *
   * @throws IllegalArgumentException if there is none; the message lists the backends there are
   *     and, for an in-tree name, the jar that provides it
   */
  public DiscoveredProvider<AttentionBackendProvider> backend(String name) {
    return lookup(PluginKind.BACKEND, name);
  }

  /**
   * The block manager of this name, available or not.
   *
   * @throws IllegalArgumentException if there is none, as {@link #backend}
   */
  public DiscoveredProvider<BlockSpaceManagerProvider> blockManager(String name) {
    return lookup(PluginKind.BLOCK_MANAGER, name);
  }

  /**
   * The backend to use: the named one, or for {@code "auto"} the available one of highest priority.
   *
   * @throws IllegalArgumentException if no backend has this name
   * @throws IllegalStateException if the named backend is unavailable (with its reason), or for
   *     {@code auto}, if none is available (with each one's reason)
   */
  public DiscoveredProvider<AttentionBackendProvider> selectBackend(String nameOrAuto) {
    return select(PluginKind.BACKEND, nameOrAuto);
  }

  /** The block manager to use, chosen as {@link #selectBackend} chooses a backend. */
  public DiscoveredProvider<BlockSpaceManagerProvider> selectBlockManager(String nameOrAuto) {
    return select(PluginKind.BLOCK_MANAGER, nameOrAuto);
  }

  /** The backend {@code auto} would choose, without logging; empty if none is available. */
  public Optional<DiscoveredProvider<AttentionBackendProvider>> autoBackend() {
    return autoChoice(PluginKind.BACKEND);
  }

  /** Whether {@code provider} can be used here; asked once, then remembered. */
  public Availability availability(DiscoveredProvider<?> provider) {
    return availabilities.computeIfAbsent(provider, Plugins::probe);
  }

  /** A row per provider, block managers then backends, each by rank; {@code auto}'s marked. */
  public List<PluginRow> describe() {
    List<PluginRow> rows = new ArrayList<>();
    for (PluginKind kind : PluginKind.values()) {
      Optional<? extends DiscoveredProvider<?>> auto = autoChoice(kind);
      for (DiscoveredProvider<?> p : ranked(kind)) {
        Availability availability = availability(p);
        rows.add(
            new PluginRow(
                kind,
                p.name(),
                p.provider().priority(),
                p.source().version(),
                p.source(),
                availability.available(),
                availability.reason(),
                auto.isPresent() && auto.get() == p,
                p.provider().description()));
      }
    }
    return rows;
  }

  // ---- selection

  private <P extends PluginProvider> DiscoveredProvider<P> select(
      PluginKind kind, String nameOrAuto) {
    requireNonNull(nameOrAuto, "nameOrAuto is null");
    if (EngineConfig.AUTO.equals(nameOrAuto.strip().toLowerCase(Locale.ROOT))) {
      return selectAuto(kind);
    }
    DiscoveredProvider<P> provider = lookup(kind, nameOrAuto);
    Availability availability = availability(provider);
    if (!availability.available()) {
      throw new IllegalStateException(
          kind.noun()
              + " "
              + provider
              + " is unavailable: "
              + availability.reason()
              + "; available "
              + kind.noun()
              + "s: "
              + describeAll(kind, p -> availability(p).available()));
    }
    return provider;
  }

  private <P extends PluginProvider> DiscoveredProvider<P> selectAuto(PluginKind kind) {
    Optional<DiscoveredProvider<P>> choice = autoChoice(kind);
    if (choice.isEmpty()) {
      throw new IllegalStateException(
          byKind.get(kind).isEmpty()
              ? noneFound(kind)
              : "no "
                  + kind.noun()
                  + " is available: "
                  + ranked(kind).stream()
                      .map(p -> p + ": " + availability(p).reason())
                      .collect(Collectors.joining("; ")));
    }
    DiscoveredProvider<P> chosen = choice.get();
    LOG.log(
        Level.INFO,
        "{0} auto: chose {1}, priority {2}",
        kind.noun(),
        chosen,
        String.valueOf(chosen.provider().priority()));
    for (DiscoveredProvider<?> p : ranked(kind)) {
      if (p != chosen) {
        Availability availability = availability(p);
        String why =
            availability.available()
                ? "lower priority than " + chosen.name()
                : "unavailable: " + availability.reason();
        LOG.log(
            Level.INFO,
            "{0} auto: rejected {1}, priority {2}: {3}",
            kind.noun(),
            p,
            String.valueOf(p.provider().priority()),
            why);
      }
    }
    return chosen;
  }

  private <P extends PluginProvider> Optional<DiscoveredProvider<P>> autoChoice(PluginKind kind) {
    return ranked(kind).stream()
        .filter(p -> availability(p).available())
        .findFirst()
        .map(Plugins::typed);
  }

  // ---- lookup

  private <P extends PluginProvider> DiscoveredProvider<P> lookup(PluginKind kind, String name) {
    requireNonNull(name, "name is null");
    DiscoveredProvider<?> provider = byKind.get(kind).get(name.strip().toLowerCase(Locale.ROOT));
    if (provider == null) {
      throw new IllegalArgumentException(unknown(kind, name));
    }
    return typed(provider);
  }

  private String unknown(PluginKind kind, String name) {
    StringBuilder message = new StringBuilder("unknown " + kind.noun() + " '" + name + "'; ");
    message.append(
        byKind.get(kind).isEmpty()
            ? noneFound(kind)
            : "available " + kind.noun() + "s: " + describeAll(kind, p -> true));
    KnownPlugins.hint(kind, name.strip().toLowerCase(Locale.ROOT))
        .ifPresent(hint -> message.append(". ").append(hint));
    if (!failures.isEmpty()) {
      message.append(". Not loaded: ").append(failures);
    }
    return message.toString();
  }

  private String noneFound(PluginKind kind) {
    return "no "
        + kind.noun()
        + "s were found on the application's module/class path"
        + pluginsDirectory.map(dir -> " or in plugins directory " + dir).orElse("");
  }

  private String describeAll(PluginKind kind, Predicate<DiscoveredProvider<?>> which) {
    String names =
        ranked(kind).stream().filter(which).map(Object::toString).collect(Collectors.joining(", "));
    return names.isEmpty() ? "none" : names;
  }

  private List<DiscoveredProvider<?>> ranked(PluginKind kind) {
    return byKind.get(kind).values().stream().sorted(RANK).toList();
  }

  private <P extends PluginProvider> List<DiscoveredProvider<P>> all(PluginKind kind) {
    return byKind.get(kind).values().stream().map(Plugins::<P>typed).toList();
  }

  /** Safe: providers are filed under the kind whose service they implement. */
  @SuppressWarnings("unchecked")
  private static <P extends PluginProvider> DiscoveredProvider<P> typed(DiscoveredProvider<?> p) {
    return (DiscoveredProvider<P>) p;
  }

  private static Availability probe(DiscoveredProvider<?> provider) {
    try {
      return requireNonNull(provider.provider().availability(), "availability() returned null");
    } catch (RuntimeException | LinkageError e) {
      return Availability.unavailable("availability check failed: " + e);
    }
  }
}
