package dev.tandem.backend.cpu;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.Availability;
import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.backend.BackendConfig;

/**
 * The "cpu" backend: host memory, kernels on the JDK Vector API, a thread pool sized by {@link
 * BackendConfig#resolvedThreads()}. Available wherever the incubating module {@code
 * jdk.incubator.vector} is resolved (java --add-modules jdk.incubator.vector).
 */
public final class CpuBackendProvider implements AttentionBackendProvider {

  @Override
  public String name() {
    return "cpu";
  }

  @Override
  public int priority() {
    return 100;
  }

  @Override
  public String description() {
    return "cpu: host memory, JDK Vector API kernels, one thread per core";
  }

  @Override
  public Availability availability() {
    // A plugin layer may resolve the module itself; on the class path only the boot layer counts.
    ModuleLayer layer = CpuBackendProvider.class.getModule().getLayer();
    if ((layer == null ? ModuleLayer.boot() : layer).findModule("jdk.incubator.vector").isEmpty()) {
      return Availability.unavailable(
          "the JDK Vector API is not enabled: start java with --add-modules jdk.incubator.vector");
    }
    return VectorProbe.RESULT;
  }

  @Override
  public AttentionBackend create(BackendConfig config) {
    requireNonNull(config, "config is null");
    Availability availability = availability();
    if (!availability.available()) {
      throw new IllegalStateException("cpu backend unavailable: " + availability.reason());
    }
    return new CpuBackend(config.resolvedThreads());
  }

  /**
   * Touches the Vector API only when first asked, so a missing module fails there and not at load;
   * once, so that a failed {@link Simd} initialization is reported with its own message.
   */
  private static final class VectorProbe {
    static final Availability RESULT = probe();

    private static Availability probe() {
      try {
        int lanes = Simd.SPECIES.length();
        if (lanes < 2) {
          return Availability.unavailable(
              "the JDK Vector API has no SIMD float vectors on this CPU (" + lanes + " lane)");
        }
        return Availability.AVAILABLE;
      } catch (ExceptionInInitializerError e) {
        return Availability.unavailable(e.getCause().getMessage());
      } catch (LinkageError e) {
        return Availability.unavailable("the JDK Vector API failed to initialize: " + e);
      }
    }
  }
}
