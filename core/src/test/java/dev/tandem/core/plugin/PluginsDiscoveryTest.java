package dev.tandem.core.plugin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.block.BlockSpaceManagerProvider;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Discovery on the class path (how core's tests run): the in-tree plugins from the test class path,
 * and jars a test builds into a plugins directory, each loaded by a class loader of its own.
 */
class PluginsDiscoveryTest {

  private static final String BACKEND_SERVICE = AttentionBackendProvider.class.getName();

  @TempDir Path tmp;

  @ParameterizedTest
  @CsvSource({
    "BLOCK_MANAGER, v1, block-manager-v1",
    "BLOCK_MANAGER, v2, block-manager-v2",
    "BACKEND, cpu, backend-cpu",
    "BACKEND, opencl, backend-opencl",
    "BACKEND, cuda, backend-cuda"
  })
  void everyInTreeProviderIsFoundByName(PluginKind kind, String name, String moduleDir) {
    Plugins plugins = Plugins.discover(Optional.empty());
    DiscoveredProvider<?> found =
        kind == PluginKind.BACKEND ? plugins.backend(name) : plugins.blockManager(name);
    assertEquals(name, found.name());
    assertEquals(kind, found.kind());
    assertTrue(kind.service().isInstance(found.provider()));
    // The source is the module's own build output (classes directory or jar).
    String location = found.source().location().orElseThrow().toString();
    assertTrue(location.contains(moduleDir), location);
    assertTrue(plugins.failures().isEmpty(), plugins.failures()::toString);
  }

  @Test
  void jarInPluginsDirectoryIsFoundAndGoneOnceRemoved() throws IOException {
    Path dir = Files.createDirectory(tmp.resolve("plugins"));
    Path jar = buildBackendJar(dir.resolve("turbo.jar"), "test.turbo.TurboProvider", "turbo", 1000);

    Plugins plugins = Plugins.discover(Optional.of(dir));
    DiscoveredProvider<AttentionBackendProvider> turbo = plugins.backend("turbo");
    assertEquals(jar, turbo.source().location().orElseThrow());
    assertNotSame(getClass().getClassLoader(), turbo.provider().getClass().getClassLoader());
    assertEquals("turbo", plugins.selectBackend("auto").name(), "highest priority and available");
    assertTrue(
        plugins.describe().stream().anyMatch(r -> r.name().equals("turbo") && r.autoChoice()));
    // The in-tree ones are still there.
    assertEquals("cpu", plugins.backend("cpu").name());

    Files.delete(jar);
    Plugins without = Plugins.discover(Optional.of(dir));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> without.backend("turbo"));
    assertTrue(e.getMessage().contains("unknown backend 'turbo'"), e.getMessage());
  }

  @Test
  void folderOfJarsIsLoadedTogether() throws IOException {
    Path lib = Files.createDirectories(tmp.resolve("lib"));
    Path helper =
        PluginJars.build(
            lib.resolve("helper.jar"),
            Map.of(
                "test.helper.Probe",
                "package test.helper; public final class Probe {"
                    + " public static String describe() { return \"probed by helper\"; } }"),
            Map.of(),
            List.of());
    Path folder = Files.createDirectories(tmp.resolve("plugins/withlib"));
    Files.copy(helper, folder.resolve("helper.jar"));
    String provider =
        PluginJars.backendSource("test.withlib.WithLib", "withlib", 1, "Availability.AVAILABLE")
            .replace(
                "public String name()",
                "public String description() { return test.helper.Probe.describe(); }\n"
                    + "  public String name()");
    PluginJars.build(
        folder.resolve("withlib.jar"),
        Map.of("test.withlib.WithLib", provider),
        Map.of(BACKEND_SERVICE, "test.withlib.WithLib"),
        List.of("-classpath", PluginJars.apiLocation() + File.pathSeparator + helper));

    Plugins plugins = Plugins.discover(Optional.of(tmp.resolve("plugins")));
    assertEquals("probed by helper", plugins.backend("withlib").provider().description());
    assertTrue(plugins.failures().isEmpty(), plugins.failures()::toString);
  }

  @Test
  void brokenJarIsReportedAndTheOthersStillLoad() throws IOException {
    Path dir = Files.createDirectory(tmp.resolve("plugins"));
    buildBackendJar(dir.resolve("good.jar"), "test.good.GoodProvider", "good", 1);
    PluginJars.build(
        dir.resolve("broken.jar"),
        Map.of("test.broken.Empty", "package test.broken; public final class Empty {}"),
        Map.of(BACKEND_SERVICE, "test.broken.Missing"),
        List.of());

    Plugins plugins = Plugins.discover(Optional.of(dir));
    assertEquals("good", plugins.backend("good").name());
    assertEquals(1, plugins.failures().size(), plugins.failures()::toString);
    PluginLoadFailure failure = plugins.failures().getFirst();
    assertEquals(dir.resolve("broken.jar").toString(), failure.location());
    assertTrue(failure.reason().contains("test.broken.Missing"), failure.reason());
  }

  @Test
  void duplicateNameInPluginsDirectoryIsRejectedNamingBothSources() throws IOException {
    Path dir = Files.createDirectory(tmp.resolve("plugins"));
    Path jar = buildBackendJar(dir.resolve("fake-cpu.jar"), "test.dup.DupCpu", "cpu", 1);
    Path inTree =
        Plugins.discover(Optional.empty()).backend("cpu").source().location().orElseThrow();

    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> Plugins.discover(Optional.of(dir)));
    assertTrue(e.getMessage().contains("two backend providers are named 'cpu'"), e.getMessage());
    assertTrue(e.getMessage().contains(jar.toString()), e.getMessage());
    assertTrue(e.getMessage().contains(inTree.toString()), e.getMessage());
  }

  @Test
  void pluginsDirectoryMustBeADirectory() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Plugins.discover(Optional.of(tmp.resolve("missing"))));
    assertTrue(e.getMessage().contains(tmp.resolve("missing").toString()), e.getMessage());
  }

  @Test
  void inTreeBlockManagersAreOfferedAsBlockManagers() {
    Plugins plugins = Plugins.discover(Optional.empty());
    List<String> names = plugins.blockManagers().stream().map(DiscoveredProvider::name).toList();
    assertTrue(names.containsAll(List.of("v1", "v2")), names::toString);
    for (DiscoveredProvider<BlockSpaceManagerProvider> p : plugins.blockManagers()) {
      assertEquals(PluginKind.BLOCK_MANAGER, p.kind());
    }
  }

  private static Path buildBackendJar(Path jar, String qualifiedClass, String name, int priority)
      throws IOException {
    String availability = "Availability.AVAILABLE";
    return PluginJars.build(
        jar,
        Map.of(
            qualifiedClass, PluginJars.backendSource(qualifiedClass, name, priority, availability)),
        Map.of(BACKEND_SERVICE, qualifiedClass),
        List.of("-classpath", PluginJars.apiLocation().toString()));
  }
}
