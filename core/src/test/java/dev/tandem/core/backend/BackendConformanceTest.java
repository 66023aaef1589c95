package dev.tandem.core.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.backend.BackendConfig;
import dev.tandem.core.backend.BackendScenarios.Scenario;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every available backend other than "cpu" must compute what the CPU backend computes, op by op, on
 * random inputs: ‖out − cpu‖ / ‖cpu‖ below 1e-5. Where no other backend is available (a machine
 * without a GPU) the whole class is aborted with each provider's reason, never passed silently.
 */
class BackendConformanceTest {

  private static final double TOLERANCE = 1e-5;
  private static final String REFERENCE = "cpu";
  private static final String NO_CANDIDATE = "no backend but cpu";
  private static final Map<String, AttentionBackend> BACKENDS = new HashMap<>();

  static List<AttentionBackendProvider> providers() {
    return ServiceLoader.load(AttentionBackendProvider.class).stream()
        .map(ServiceLoader.Provider::get)
        .toList();
  }

  /** Available providers under test: every one but the reference. */
  static List<AttentionBackendProvider> candidates() {
    return providers().stream()
        .filter(p -> !p.name().equals(REFERENCE) && p.availability().available())
        .toList();
  }

  /** Each provider with its availability, for the abort message and the log. */
  static String listing() {
    return providers().stream()
        .map(
            p ->
                p.name()
                    + ": "
                    + (p.availability().available()
                        ? "available"
                        : "unavailable (" + p.availability().reason() + ")"))
        .collect(Collectors.joining("; "));
  }

  /**
   * (provider, scenario) pairs; with no candidate a single placeholder case, which the test aborts
   * with the reasons (a class-level abort would show up in reports as zero tests, not as skipped).
   */
  static Stream<Arguments> cases() {
    System.out.println("backend providers: " + listing());
    if (candidates().isEmpty()) {
      return Stream.of(Arguments.of(NO_CANDIDATE, null));
    }
    return candidates().stream()
        .flatMap(p -> BackendScenarios.all().stream().map(s -> Arguments.of(p.name(), s)));
  }

  private static AttentionBackend backend(String name) {
    return BACKENDS.computeIfAbsent(
        name,
        n ->
            providers().stream()
                .filter(p -> p.name().equals(n))
                .findFirst()
                .orElseThrow()
                .create(BackendConfig.defaults()));
  }

  @AfterAll
  static void closeBackends() {
    BACKENDS.values().forEach(AttentionBackend::close);
    BACKENDS.clear();
  }

  @ParameterizedTest(name = "{0}: {1}")
  @MethodSource("cases")
  void matchesTheCpuBackend(String provider, Scenario scenario) {
    AttentionBackendProvider reference =
        providers().stream().filter(p -> p.name().equals(REFERENCE)).findFirst().orElseThrow();
    assertTrue(
        reference.availability().available(),
        "the reference backend is unavailable: " + reference.availability().reason());
    if (scenario == null) {
      Assumptions.abort("no backend other than cpu is available to check: " + listing());
    }
    assertSameResults(scenario, backend(REFERENCE), backend(provider), provider);
  }

  /** Runs {@code scenario} on both backends and compares every named output. */
  static void assertSameResults(
      Scenario scenario, AttentionBackend reference, AttentionBackend candidate, String provider) {
    Map<String, float[]> expected = scenario.run().apply(reference);
    Map<String, float[]> actual = scenario.run().apply(candidate);
    assertEquals(expected.keySet(), actual.keySet(), scenario.name());
    for (var entry : expected.entrySet()) {
      String what = provider + ", " + scenario.name() + ", " + entry.getKey();
      float[] want = entry.getValue();
      float[] got = actual.get(entry.getKey());
      if (scenario.exact()) {
        assertArrayEquals(want, got, what);
      } else {
        assertEquals(want.length, got.length, what);
        double error = relativeError(got, want);
        assertTrue(error < TOLERANCE, what + ": relative error " + error);
      }
    }
  }

  private static double relativeError(float[] got, float[] want) {
    double diff = 0;
    double norm = 0;
    for (int i = 0; i < want.length; i++) {
      diff += ((double) got[i] - want[i]) * ((double) got[i] - want[i]);
      norm += (double) want[i] * want[i];
    }
    return norm == 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
  }
}
