package dev.tandem.core.plugin;

import static dev.tandem.core.plugin.FakeProviders.backend;
import static dev.tandem.core.plugin.FakeProviders.blockManager;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.inject.Guice;
import com.google.inject.Injector;
import dev.tandem.api.Availability;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.backend.BackendConfig;
import dev.tandem.api.block.BlockSpaceManagerProvider;
import dev.tandem.core.config.EngineConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Lookup, {@code auto} and Guice wiring over providers the test constructs itself. */
class PluginSelectionTest {

  private final List<String> logLines = new ArrayList<>();
  private final Logger julLogger = Logger.getLogger(Plugins.class.getName());
  private final Handler capture =
      new Handler() {
        @Override
        public void publish(LogRecord record) {
          logLines.add(new java.util.logging.SimpleFormatter().formatMessage(record));
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
      };

  @BeforeEach
  void captureLog() {
    julLogger.addHandler(capture);
  }

  @AfterEach
  void releaseLog() {
    julLogger.removeHandler(capture);
  }

  private static Plugins threeBackends() {
    return Plugins.of(
        List.of(
            backend("gpu", 300, Availability.unavailable("no device: libgpu.so not found")),
            backend("mid", 200, Availability.AVAILABLE),
            backend("slow", 100, Availability.AVAILABLE),
            blockManager("v2", 20, Availability.AVAILABLE)));
  }

  @Test
  void autoSkipsUnavailableProviderAndSaysWhy() {
    Plugins plugins = threeBackends();

    assertEquals("mid", plugins.selectBackend("auto").name());
    assertEquals(3, logLines.size(), logLines::toString);
    assertTrue(logLines.get(0).contains("chose mid"), logLines::toString);
    assertTrue(
        logLines.stream()
            .anyMatch(l -> l.contains("rejected gpu") && l.contains("no device: libgpu.so")),
        logLines::toString);
    assertTrue(
        logLines.stream()
            .anyMatch(l -> l.contains("rejected slow") && l.contains("lower priority than mid")),
        logLines::toString);
  }

  @Test
  void describeMarksAutoChoiceAndGivesReasons() {
    List<PluginRow> rows = threeBackends().describe();
    PluginRow gpu = rows.stream().filter(r -> r.name().equals("gpu")).findFirst().orElseThrow();
    assertFalse(gpu.available());
    assertEquals("no device: libgpu.so not found", gpu.reason());
    assertEquals(
        List.of("mid"),
        rows.stream()
            .filter(r -> r.kind() == PluginKind.BACKEND && r.autoChoice())
            .map(PluginRow::name)
            .toList());
    assertEquals("mid", threeBackends().autoBackend().orElseThrow().name());
  }

  @Test
  void autoWithNothingAvailableListsEveryReason() {
    Plugins plugins =
        Plugins.of(
            List.of(
                backend("a", 2, Availability.unavailable("reason one")),
                backend("b", 1, Availability.notImplementedYet())));
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> plugins.selectBackend("auto"));
    assertTrue(e.getMessage().contains("reason one"), e.getMessage());
    assertTrue(e.getMessage().contains("b (") && e.getMessage().contains("not implemented yet"));
    assertTrue(plugins.autoBackend().isEmpty());
  }

  @Test
  void explicitlyChosenUnavailableProviderFailsWithItsReason() {
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> threeBackends().selectBackend("gpu"));
    assertTrue(e.getMessage().contains("no device: libgpu.so not found"), e.getMessage());
    assertTrue(e.getMessage().contains("mid"), "names what is available: " + e.getMessage());
  }

  @Test
  void unknownNameListsAvailableNamesAndTheJarThatProvidesAKnownOne() {
    Plugins plugins = threeBackends();
    IllegalArgumentException unknown =
        assertThrows(IllegalArgumentException.class, () -> plugins.backend("nosuch"));
    for (String name : List.of("gpu", "mid", "slow")) {
      assertTrue(unknown.getMessage().contains(name + " ("), unknown.getMessage());
    }
    assertTrue(unknown.getMessage().contains("PluginSelectionTest") == false);

    IllegalArgumentException cuda =
        assertThrows(IllegalArgumentException.class, () -> plugins.selectBackend("CUDA"));
    assertTrue(cuda.getMessage().contains("tandem-backend-cuda"), cuda.getMessage());
    assertTrue(cuda.getMessage().contains("module dev.tandem.backend.cuda"), cuda.getMessage());
    assertTrue(cuda.getMessage().contains("plugins directory"), cuda.getMessage());

    IllegalArgumentException wrongKind =
        assertThrows(IllegalArgumentException.class, () -> plugins.blockManager("cpu"));
    assertTrue(wrongKind.getMessage().contains("cpu is a backend"), wrongKind.getMessage());
    assertTrue(wrongKind.getMessage().contains("v2 ("), wrongKind.getMessage());
  }

  @Test
  void duplicateNamesAreRejectedNamingBothSources() {
    DiscoveredProvider<?> first = backend("same", 1, Availability.AVAILABLE);
    DiscoveredProvider<?> second =
        new DiscoveredProvider<>(
            PluginKind.BACKEND,
            new FakeProviders.FakeBackend("same", 2, Availability.AVAILABLE),
            new PluginSource(Optional.of("other.module"), Optional.empty(), Optional.of("9.9")));
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> Plugins.of(List.of(first, second)));
    assertTrue(e.getMessage().contains(first.source().toString()), e.getMessage());
    assertTrue(e.getMessage().contains("module other.module"), e.getMessage());
    // The same name in different kinds is fine.
    Plugins.of(List.of(first, blockManager("same", 1, Availability.AVAILABLE)));
  }

  @Test
  void invalidNamesAreRejected() {
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> Plugins.of(List.of(backend("Upper", 1, Availability.AVAILABLE))));
    assertTrue(e.getMessage().contains("'Upper'"), e.getMessage());
  }

  @Test
  void guiceBindsTheChosenProvidersAndTheConfiguration() {
    Plugins plugins = threeBackends();
    EngineConfig config =
        EngineConfig.resolve(
            Map.of("backend", "auto", "block-manager", "v2", "num-threads", "3"),
            Optional.empty(),
            Map.of(),
            Map.of());
    Injector injector = Guice.createInjector(new PluginModule(plugins, config));

    AttentionBackendProvider backend = injector.getInstance(AttentionBackendProvider.class);
    assertSame(plugins.backend("mid").provider(), backend);
    assertSame(backend, injector.getInstance(AttentionBackendProvider.class), "singleton");
    assertSame(
        plugins.blockManager("v2").provider(),
        injector.getInstance(BlockSpaceManagerProvider.class));
    assertSame(config, injector.getInstance(EngineConfig.class));
    assertEquals(3, injector.getInstance(BackendConfig.class).numThreads());
  }
}
