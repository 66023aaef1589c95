package dev.tandem.core.plugin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.backend.AttentionBackendProvider;
import java.io.File;
import java.lang.module.Configuration;
import java.lang.module.ModuleFinder;
import java.net.URISyntaxException;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The module-path route: core's tests run on the class path, so this test builds the layer a
 * modular launch would have (api, core and core's dependencies as named modules, from the test
 * class path) and runs {@link Plugins#discover} inside it, by reflection. Plugin jars must then be
 * loaded into module layers of their own, below the one holding {@code dev.tandem.api}.
 */
class ModuleLayerDiscoveryTest {

  private static final String BACKEND_SERVICE = AttentionBackendProvider.class.getName();

  @TempDir Path tmp;

  @Test
  void modularAndPlainJarsBecomeModulesOfTheirOwnLayers() throws Exception {
    Path dir = Files.createDirectory(tmp.resolve("plugins"));
    PluginJars.build(
        dir.resolve("modular.jar"),
        Map.of(
            "module-info",
            "module test.modular { requires dev.tandem.api; provides "
                + BACKEND_SERVICE
                + " with test.modular.ModularProvider; }",
            "test.modular.ModularProvider",
            PluginJars.backendSource(
                "test.modular.ModularProvider", "modular", 7, "Availability.AVAILABLE")),
        Map.of(),
        List.of("--module-path", PluginJars.apiLocation().toString()));
    PluginJars.build(
        dir.resolve("plain-plugin.jar"),
        Map.of(
            "test.plain.PlainProvider",
            PluginJars.backendSource(
                "test.plain.PlainProvider", "plain", 3, "Availability.notImplementedYet()")),
        Map.of(BACKEND_SERVICE, "test.plain.PlainProvider"),
        List.of("-classpath", PluginJars.apiLocation().toString()));

    // A folder that asks for the class path (JCuda's natives only unpack there).
    Path classPathFolder = Files.createDirectory(dir.resolve("legacy"));
    Files.writeString(classPathFolder.resolve(PluginLoader.UNIT_SETTINGS), "loader=class-path\n");
    PluginJars.build(
        classPathFolder.resolve("legacy.jar"),
        Map.of(
            "test.legacy.LegacyProvider",
            PluginJars.backendSource(
                "test.legacy.LegacyProvider", "legacy", 1, "Availability.AVAILABLE")),
        Map.of(BACKEND_SERVICE, "test.legacy.LegacyProvider"),
        List.of("-classpath", PluginJars.apiLocation().toString()));

    ModuleLayer engine = engineLayer();
    Class<?> pluginsClass = engine.findLoader("dev.tandem.core").loadClass(Plugins.class.getName());
    Object plugins =
        pluginsClass.getMethod("discover", Optional.class).invoke(null, Optional.of(dir));
    assertEquals(List.of(), call(plugins, "failures"));

    Object modular = pluginsClass.getMethod("backend", String.class).invoke(plugins, "modular");
    Module modularModule = call(modular, "provider").getClass().getModule();
    assertEquals("test.modular", modularModule.getName());
    assertEquals(List.of(engine), modularModule.getLayer().parents(), "parent: the api layer");
    assertTrue(modularModule.isNativeAccessEnabled(), "plugins may call native code");
    assertEquals(
        "module test.modular (" + dir.resolve("modular.jar") + ")",
        call(modular, "source").toString());

    // A plain jar becomes an automatic module named after the file, in a layer of its own.
    Object plain = pluginsClass.getMethod("backend", String.class).invoke(plugins, "plain");
    Module plainModule = call(plain, "provider").getClass().getModule();
    assertEquals("plain.plugin", plainModule.getName());
    assertTrue(plainModule.getDescriptor().isAutomatic());
    assertTrue(plainModule.getLayer() != modularModule.getLayer(), "one layer per jar");

    Object legacy = pluginsClass.getMethod("backend", String.class).invoke(plugins, "legacy");
    Class<?> legacyClass = call(legacy, "provider").getClass();
    assertFalse(legacyClass.getModule().isNamed(), "class-path route on request");
    assertTrue(legacyClass.getClassLoader() instanceof URLClassLoader);

    Object chosen = pluginsClass.getMethod("selectBackend", String.class).invoke(plugins, "auto");
    assertEquals("modular", call(chosen, "name"), "plain is not implemented yet");
  }

  @SuppressWarnings("unchecked")
  private static <T> T call(Object target, String method) throws ReflectiveOperationException {
    return (T) target.getClass().getMethod(method).invoke(target);
  }

  /**
   * api, core and their dependencies as named modules in one layer over the boot layer: the jars
   * and modular classes directories of the test class path, without the test frameworks and without
   * the in-tree plugins (so that only the plugins directory provides).
   */
  private static ModuleLayer engineLayer() {
    Path[] entries =
        Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
            .map(Path::of)
            .filter(ModuleLayerDiscoveryTest::isEngineModule)
            .toArray(Path[]::new);
    ModuleFinder finder = ModuleFinder.of(entries);
    Configuration configuration =
        ModuleLayer.boot()
            .configuration()
            .resolve(finder, ModuleFinder.of(), Set.of("dev.tandem.core"));
    return ModuleLayer.boot()
        .defineModulesWithOneLoader(configuration, ClassLoader.getPlatformClassLoader());
  }

  private static boolean isEngineModule(Path entry) {
    if (entry.equals(PluginJars.apiLocation()) || entry.equals(location(Plugins.class))) {
      return true;
    }
    String name = entry.getFileName().toString();
    return name.endsWith(".jar")
        && !name.startsWith("tandem-")
        && !name.startsWith("junit-")
        && !name.startsWith("opentest4j")
        && !name.startsWith("apiguardian");
  }

  private static Path location(Class<?> type) {
    try {
      return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }
}
