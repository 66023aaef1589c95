package dev.tandem.backend.opencl;

import static java.util.Objects.requireNonNull;

import com.aparapi.device.Device;
import dev.tandem.api.Availability;
import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.backend.BackendConfig;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The "opencl" backend: the whole model on one OpenCL device through Aparapi kernels written in
 * Java. Option {@code opencl.device}: a device index or name substring (default: the first GPU,
 * else the first CPU device); the system property {@code tandem.opencl.device} sets the default.
 * Option {@code opencl.gemm}: {@code tiles}, {@code strips} or {@code local}, the GEMM kernel of
 * linear layers (default: tiles on a GPU, strips on other devices; see {@link OpenClBackend.Gemm}).
 * Option {@code opencl.queue}: {@code true} runs a step's ops as the passes of few Aparapi
 * launches, {@code false} launches each op on its own (default: true on a GPU, false on other
 * devices; see {@link DeviceOps#launch}). Option {@code opencl.profile=true} (a diagnostic)
 * launches every op alone, times it and prints where the time went when the backend closes ({@link
 * OpProfile}). Option {@code opencl.attention}: {@code items} (default) runs a work-item per
 * (query, head), {@code groups} a work-group, for GPUs (not yet measured on one). Priority 200 on a
 * GPU, 50 on a CPU device, so {@code auto} prefers an OpenCL GPU to the cpu backend but not an
 * OpenCL CPU device such as PoCL.
 */
public final class OpenClBackendProvider implements AttentionBackendProvider {

  static final String DEVICE_OPTION = "opencl.device";
  static final String GEMM_OPTION = "opencl.gemm";
  static final String QUEUE_OPTION = "opencl.queue";
  static final String PROFILE_OPTION = "opencl.profile";
  static final String ATTENTION_OPTION = "opencl.attention";
  private static final List<String> OPTIONS =
      List.of(DEVICE_OPTION, GEMM_OPTION, QUEUE_OPTION, PROFILE_OPTION, ATTENTION_OPTION);

  private static final Object LOCK = new Object();
  private static Availability probed; // per JVM: probing builds the kernel once
  private static boolean probedGpu;

  @Override
  public String name() {
    return "opencl";
  }

  @Override
  public int priority() {
    availability();
    synchronized (LOCK) {
      return probedGpu ? 200 : 50;
    }
  }

  @Override
  public String description() {
    return "opencl: one OpenCL device (Aparapi kernels), option opencl.device=<index|name>";
  }

  /**
   * Finds the default device and builds the kernel on it once per JVM: a device whose compiler
   * rejects the kernel, or where Aparapi would fall back to Java threads, is unavailable, and so is
   * every device in a JVM whose collector moves the device-resident arrays ({@link HeapPlacement}).
   */
  @Override
  public Availability availability() {
    synchronized (LOCK) {
      if (probed == null) {
        probed = probe();
      }
      return probed;
    }
  }

  private static Availability probe() {
    Optional<String> heap = HeapPlacement.problem();
    if (heap.isPresent()) {
      return Availability.unavailable(heap.get());
    }
    OpenClDevices.Choice choice = OpenClDevices.choose(System.getProperty("tandem.opencl.device"));
    if (choice.device() == null) {
      return Availability.unavailable(choice.problem());
    }
    try (DeviceOps _ = new DeviceOps(choice.device(), false, false)) {
      probedGpu = choice.device().getType() == Device.TYPE.GPU;
      return Availability.AVAILABLE;
    } catch (LinkageError | RuntimeException e) {
      return Availability.unavailable(
          "the kernel failed to build or run on "
              + OpenClDevices.describe(choice.device())
              + ": "
              + e.getMessage());
    }
  }

  @Override
  public AttentionBackend create(BackendConfig config) {
    requireNonNull(config, "config is null");
    for (String key : config.options().keySet()) {
      if (key.startsWith("opencl.") && !OPTIONS.contains(key)) {
        throw new IllegalArgumentException(
            "opencl: unknown option " + key + "; the options are " + String.join(", ", OPTIONS));
      }
    }
    String queue =
        oneOf(
            QUEUE_OPTION,
            config.option(QUEUE_OPTION, System.getProperty("tandem.opencl.queue", "")),
            "true",
            "false");
    String profile = oneOf(PROFILE_OPTION, config.option(PROFILE_OPTION, ""), "true", "false");
    String attention =
        oneOf(ATTENTION_OPTION, config.option(ATTENTION_OPTION, "items"), "items", "groups");
    String gemm = oneOf(GEMM_OPTION, config.option(GEMM_OPTION, ""), "tiles", "strips", "local");
    OpenClDevices.Choice choice =
        OpenClDevices.choose(
            config.option(DEVICE_OPTION, System.getProperty("tandem.opencl.device")));
    if (choice.device() == null) {
      throw new IllegalStateException("opencl backend unavailable: " + choice.problem());
    }
    boolean gpu = choice.device().getType() == Device.TYPE.GPU;
    DeviceOps ops;
    try {
      ops =
          new DeviceOps(
              choice.device(),
              queue.isEmpty() ? gpu : queue.equals("true"),
              profile.equals("true"));
    } catch (RuntimeException e) {
      throw new IllegalStateException(
          "opencl backend unavailable: the kernel failed to build or run on "
              + OpenClDevices.describe(choice.device())
              + ": "
              + e.getMessage(),
          e);
    }
    if (gemm.isEmpty()) {
      gemm = gpu ? "tiles" : "strips";
    }
    if ((gemm.equals("local") || attention.equals("groups"))
        && ops.groupSize() != DeviceGemm.LOCAL_THREADS) {
      ops.close();
      throw new IllegalArgumentException(
          "opencl: "
              + GEMM_OPTION
              + "=local and "
              + ATTENTION_OPTION
              + "=groups need work-groups of "
              + DeviceGemm.LOCAL_THREADS
              + " work-items; "
              + OpenClDevices.describe(choice.device())
              + " runs at most "
              + ops.groupSize()
              + "; use the defaults");
    }
    return new OpenClBackend(
        ops, OpenClBackend.Gemm.valueOf(gemm.toUpperCase(Locale.ROOT)), attention.equals("groups"));
  }

  /** The value of an option, one of {@code allowed} or "" when unset. */
  private static String oneOf(String option, String value, String... allowed) {
    if (!value.isEmpty() && !List.of(allowed).contains(value)) {
      int last = allowed.length - 1;
      throw new IllegalArgumentException(
          "opencl: "
              + option
              + "="
              + value
              + ": must be "
              + String.join(", ", List.of(allowed).subList(0, last))
              + " or "
              + allowed[last]);
    }
    return value;
  }
}
