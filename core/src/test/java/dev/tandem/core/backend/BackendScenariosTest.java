package dev.tandem.core.backend;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.backend.BackendConfig;
import dev.tandem.core.backend.BackendScenarios.Scenario;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Keeps the conformance scenarios runnable where no second backend exists: each runs on the CPU
 * backend with one thread and with two, which must agree (results may not depend on how work is
 * split over threads).
 */
class BackendScenariosTest {

  private static AttentionBackend oneThread;
  private static AttentionBackend twoThreads;

  @BeforeAll
  static void createBackends() {
    AttentionBackendProvider cpu =
        ServiceLoader.load(AttentionBackendProvider.class).stream()
            .map(ServiceLoader.Provider::get)
            .filter(p -> p.name().equals("cpu"))
            .findFirst()
            .orElseThrow(() -> new AssertionError("the cpu backend is not on the test class path"));
    oneThread = cpu.create(new BackendConfig(1, Map.of()));
    twoThreads = cpu.create(new BackendConfig(2, Map.of()));
  }

  @AfterAll
  static void closeBackends() {
    oneThread.close();
    twoThreads.close();
  }

  static List<Scenario> scenarios() {
    return BackendScenarios.all();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("scenarios")
  void sameOnOneAndTwoThreads(Scenario scenario) {
    BackendConformanceTest.assertSameResults(scenario, oneThread, twoThreads, "cpu, 2 threads");
  }
}
