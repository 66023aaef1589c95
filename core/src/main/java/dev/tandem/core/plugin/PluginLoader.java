package dev.tandem.core.plugin;

import dev.tandem.api.PluginProvider;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.lang.module.Configuration;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Loads providers of every {@link PluginKind} from the application (boot layer and class path) and
 * from a plugins directory. Each jar of the directory, and each sub-folder (a plugin with the jars
 * it depends on), is one unit with its own loader, so a plugin's dependencies stay its own:
 *
 * <ul>
 *   <li>when {@code dev.tandem.api} is a named module, a unit becomes a {@link ModuleLayer} whose
 *       parent is api's layer (plain jars become automatic modules);
 *   <li>when api is on the class path, a unit gets a {@link URLClassLoader} and its providers are
 *       found through {@code META-INF/services}.
 * </ul>
 *
 * <p>A sub-folder may ask for the class-path route even when api is named, with a file {@value
 * #UNIT_SETTINGS} that says {@code loader=class-path}: for libraries that only work on the class
 * path, such as JCuda, which unpacks its natives only there.
 *
 * <p>A unit that fails to load is reported as a {@link PluginLoadFailure}; the others still load.
 */
final class PluginLoader {

  private static final System.Logger LOG = System.getLogger(PluginLoader.class.getName());

  /** A plugin folder's own settings file; its one key, {@code loader}, picks the route. */
  static final String UNIT_SETTINGS = "tandem-plugin.properties";

  /** What was found: providers of every kind, and the units that failed. */
  record Found(List<DiscoveredProvider<?>> providers, List<PluginLoadFailure> failures) {}

  /**
   * Jars loaded together.
   *
   * @param location the jar, or the folder that holds the jars
   */
  record Unit(Path location, List<Path> jars) {}

  private final List<DiscoveredProvider<?>> providers = new ArrayList<>();
  private final List<PluginLoadFailure> failures = new ArrayList<>();

  private PluginLoader() {}

  static Found load(Optional<Path> pluginsDirectory) {
    PluginLoader loader = new PluginLoader();
    loader.loadUnit(
        "the application's module/class path",
        () -> fromApplication(PluginLoader.class.getClassLoader()));
    pluginsDirectory.ifPresent(
        dir -> {
          for (Unit unit : units(dir)) {
            loader.loadUnit(unit.location().toString(), () -> fromUnit(unit));
          }
        });
    return new Found(List.copyOf(loader.providers), List.copyOf(loader.failures));
  }

  /**
   * Loads the providers of the given jars, in a module layer below the one that holds {@code
   * dev.tandem.api} when api is a named module (unless the unit asks for the class path), else in a
   * class loader of their own.
   */
  private static List<DiscoveredProvider<?>> fromUnit(Unit unit) {
    Module api = PluginProvider.class.getModule();
    return api.isNamed() && !wantsClassPath(unit.location())
        ? fromModuleLayer(unit.jars(), api.getLayer())
        : fromClassLoader(unit.jars());
  }

  /**
   * Resolves {@code jars} as modules of a new layer whose parent is {@code parent}, one class
   * loader for the layer, and returns the providers its modules declare.
   */
  @SuppressWarnings("restricted") // enableNativeAccess: see below
  private static List<DiscoveredProvider<?>> fromModuleLayer(List<Path> jars, ModuleLayer parent) {
    ModuleFinder finder = ModuleFinder.of(jars.toArray(Path[]::new));
    Set<String> roots =
        finder.findAll().stream()
            .map(ModuleReference::descriptor)
            .map(ModuleDescriptor::name)
            .collect(Collectors.toSet());
    Configuration configuration = parent.configuration().resolve(finder, ModuleFinder.of(), roots);
    ModuleLayer.Controller controller =
        ModuleLayer.defineModulesWithOneLoader(
            configuration, List.of(parent), PluginProvider.class.getClassLoader());
    ModuleLayer layer = controller.layer();
    // Plugins are trusted code the user installed, and backends call native code (JCuda, OpenCL):
    // grant what --enable-native-access grants on the command line. Restricted: silent only when
    // dev.tandem.core itself has native access, else the JDK warns once.
    layer.modules().forEach(controller::enableNativeAccess);
    List<DiscoveredProvider<?>> found = new ArrayList<>();
    for (PluginKind kind : PluginKind.values()) {
      // ServiceLoader also walks the parent layers: keep only this layer's providers.
      collect(
          ServiceLoader.load(layer, kind.service()),
          kind,
          type -> type.getModule().getLayer() == layer,
          found);
    }
    return found;
  }

  private static List<DiscoveredProvider<?>> fromClassLoader(List<Path> jars) {
    URL[] urls = jars.stream().map(PluginLoader::toUrl).toArray(URL[]::new);
    URLClassLoader loader =
        new URLClassLoader(
            "tandem-plugin-" + jars.getFirst().getFileName(),
            urls,
            PluginProvider.class.getClassLoader());
    List<DiscoveredProvider<?>> found = new ArrayList<>();
    for (PluginKind kind : PluginKind.values()) {
      // The parent's META-INF/services are visible too: keep only this loader's providers.
      collect(
          ServiceLoader.load(kind.service(), loader),
          kind,
          type -> type.getClassLoader() == loader,
          found);
    }
    return found;
  }

  private static List<DiscoveredProvider<?>> fromApplication(ClassLoader loader) {
    List<DiscoveredProvider<?>> found = new ArrayList<>();
    for (PluginKind kind : PluginKind.values()) {
      collect(ServiceLoader.load(kind.service(), loader), kind, type -> true, found);
    }
    return found;
  }

  private static void collect(
      ServiceLoader<? extends PluginProvider> serviceLoader,
      PluginKind kind,
      Predicate<Class<?>> accept,
      List<DiscoveredProvider<?>> out) {
    serviceLoader.stream()
        .filter(candidate -> accept.test(candidate.type()))
        .forEach(
            candidate ->
                out.add(
                    new DiscoveredProvider<>(
                        kind, candidate.get(), PluginSource.of(candidate.type()))));
  }

  /** Runs {@code load}; keeps all of its providers, or none and a failure. */
  private void loadUnit(String unit, Supplier<List<DiscoveredProvider<?>>> load) {
    try {
      providers.addAll(load.get());
    } catch (RuntimeException | ServiceConfigurationError | LinkageError e) {
      PluginLoadFailure failure = PluginLoadFailure.of(unit, e);
      LOG.log(System.Logger.Level.WARNING, "plugins not loaded from " + failure);
      failures.add(failure);
    }
  }

  /**
   * The units of a plugins directory, sorted by name: each {@code *.jar} file alone, and each
   * sub-folder's {@code *.jar} files together. Other entries are ignored.
   */
  static List<Unit> units(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("plugins directory " + dir + " is not a directory");
    }
    List<Unit> units = new ArrayList<>();
    for (Path entry : sortedEntries(dir)) {
      if (Files.isDirectory(entry)) {
        List<Path> jars = sortedEntries(entry).stream().filter(PluginLoader::isJar).toList();
        if (!jars.isEmpty()) {
          units.add(new Unit(entry, jars));
        }
      } else if (isJar(entry)) {
        units.add(new Unit(entry, List.of(entry)));
      }
    }
    return units;
  }

  /**
   * Whether {@code unit} is a folder whose {@value #UNIT_SETTINGS} says {@code loader=class-path}.
   */
  private static boolean wantsClassPath(Path unit) {
    Path settings = unit.resolve(UNIT_SETTINGS);
    if (!Files.isRegularFile(settings)) {
      return false;
    }
    Properties properties = new Properties();
    try (Reader reader = Files.newBufferedReader(settings, StandardCharsets.UTF_8)) {
      properties.load(reader);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + settings, e);
    }
    String loader = properties.getProperty("loader", "module-layer").strip();
    return switch (loader) {
      case "class-path" -> true;
      case "module-layer" -> false;
      default ->
          throw new IllegalArgumentException(
              settings + ": loader=" + loader + ": expected class-path or module-layer");
    };
  }

  private static boolean isJar(Path path) {
    return Files.isRegularFile(path) && path.getFileName().toString().endsWith(".jar");
  }

  private static List<Path> sortedEntries(Path dir) {
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list plugins directory " + dir, e);
    }
  }

  private static URL toUrl(Path jar) {
    try {
      return jar.toUri().toURL();
    } catch (MalformedURLException e) {
      throw new IllegalArgumentException("not a usable jar path: " + jar, e);
    }
  }
}
