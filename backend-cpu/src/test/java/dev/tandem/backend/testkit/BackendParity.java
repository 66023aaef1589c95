package dev.tandem.backend.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.Availability;
import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.backend.BackendConfig;
import java.util.Map;
import java.util.Random;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Assumptions;

/**
 * What a backend's kernel tests share: opening the backend under test and the CPU backend as the
 * reference, random inputs, and the relative-error check. Without a usable backend (or reference)
 * the test is aborted with the reason printed, so it shows as skipped, never as passed.
 */
public final class BackendParity {

  public static final double TOLERANCE = 1e-5;

  private BackendParity() {}

  /** The backend under test with these options, or the test aborted with why it is unavailable. */
  public static AttentionBackend open(
      AttentionBackendProvider provider, Map<String, String> options) {
    skipUnless(provider.name(), provider.availability());
    return provider.create(new BackendConfig(0, options));
  }

  public static AttentionBackend cpu() {
    AttentionBackendProvider provider =
        ServiceLoader.load(AttentionBackendProvider.class).stream()
            .map(ServiceLoader.Provider::get)
            .filter(p -> p.name().equals("cpu"))
            .findFirst()
            .orElse(null);
    if (provider == null) {
      Assumptions.abort("reference backend \"cpu\" not on the test class path");
    }
    skipUnless("cpu (reference)", provider.availability());
    return provider.create(new BackendConfig(2, Map.of()));
  }

  private static void skipUnless(String name, Availability availability) {
    if (!availability.available()) {
      String message = "backend " + name + " unavailable: " + availability.reason();
      System.out.println("SKIPPED: " + message);
      Assumptions.abort(message);
    }
  }

  public static float[] random(Random random, int n, float scale) {
    float[] values = new float[n];
    for (int i = 0; i < n; i++) {
      values[i] = (float) (random.nextGaussian() * scale);
    }
    return values;
  }

  /** Asserts ‖actual − expected‖ / ‖expected‖ < tolerance (and equal lengths, no NaN). */
  public static void assertClose(float[] expected, float[] actual, double tolerance, String what) {
    assertEquals(expected.length, actual.length, what + ": length");
    double diff = 0;
    double norm = 0;
    for (int i = 0; i < expected.length; i++) {
      assertTrue(Float.isFinite(actual[i]), what + ": value " + i + " is " + actual[i]);
      double d = (double) actual[i] - expected[i];
      diff += d * d;
      norm += (double) expected[i] * expected[i];
    }
    double relative = norm == 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
    assertTrue(
        relative < tolerance,
        what + ": relative error " + relative + " >= " + tolerance + " (‖ref‖² = " + norm + ")");
  }
}
