package dev.tandem.backend.cuda;

import dev.tandem.api.backend.BackendConfig;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * The CUDA backend's options, from {@link BackendConfig#options()}:
 *
 * <ul>
 *   <li>{@code cuda.device} (default 0): the device index;
 *   <li>{@code cuda.tf32} (default false): linear layers on TF32 tensor cores (sm_80+); about 1e-3
 *       relative error instead of float32's 1e-6;
 *   <li>{@code cuda.kernels} (default fatbin): {@code fatbin} (SASS for sm_80 / sm_90, PTX for the
 *       rest) or {@code ptx} (always JIT-compile the compute_75 PTX);
 *   <li>{@code cuda.device-sampling} (default true): sampled rows drawn on the GPU ({@code
 *       sample.cu}); false reads their logits back and samples on the host, as other backends do;
 *   <li>{@code cuda.graphs} (default false, or system property {@code tandem.cuda.graphs}, which
 *       lets the test suites run with graphs): kernel launches recorded and replayed as CUDA graphs
 *       ({@link KernelStream});
 *   <li>{@code cuda.decode-attention} (default half-warps, or system property {@code
 *       tandem.cuda.decode-attention}): {@code half-warps} reads each key and value row with 16
 *       lanes together for head dims of 64 and 128 ({@code paged_decode_attention_64/128}), other
 *       head dims and {@code lanes} use one lane per key ({@code paged_decode_attention});
 *   <li>{@code cuda.gemm} (default staged, or system property {@code tandem.cuda.gemm}): the tiled
 *       SGEMM kernels fetch a tile's operands before the previous tile's arithmetic ({@code
 *       staged}) or after it ({@code plain}); the same bits either way.
 * </ul>
 *
 * Other {@code cuda.*} keys are rejected; keys of other backends are ignored.
 */
record CudaSettings(
    int deviceIndex,
    boolean tf32,
    CudaKernels.Image image,
    boolean deviceSampling,
    boolean graphs,
    boolean halfWarpDecode,
    boolean stagedGemm) {

  static final Set<String> KEYS =
      Set.of(
          "cuda.device",
          "cuda.tf32",
          "cuda.kernels",
          "cuda.device-sampling",
          "cuda.graphs",
          "cuda.decode-attention",
          "cuda.gemm");

  static CudaSettings from(BackendConfig config) {
    for (String key : config.options().keySet()) {
      if (key.startsWith("cuda.") && !KEYS.contains(key)) {
        throw new IllegalArgumentException(
            "unknown CUDA backend option " + key + "; known: " + new TreeSet<>(KEYS));
      }
    }
    String device = config.option("cuda.device", "0");
    int index;
    try {
      index = Integer.parseInt(device.trim());
    } catch (NumberFormatException e) {
      index = -1;
    }
    if (index < 0) {
      throw new IllegalArgumentException("cuda.device=" + device + ": must be a device index >= 0");
    }
    String kernels = config.option("cuda.kernels", "fatbin").trim().toLowerCase(Locale.ROOT);
    CudaKernels.Image image =
        switch (kernels) {
          case "fatbin" -> CudaKernels.Image.FATBIN;
          case "ptx" -> CudaKernels.Image.PTX;
          default ->
              throw new IllegalArgumentException(
                  "cuda.kernels=" + kernels + ": must be fatbin or ptx");
        };
    String decode = choice(config, "cuda.decode-attention", "half-warps", "lanes");
    String gemm = choice(config, "cuda.gemm", "staged", "plain");
    return new CudaSettings(
        index,
        flag(config, "cuda.tf32", "false"),
        image,
        flag(config, "cuda.device-sampling", "true"),
        flag(config, "cuda.graphs", System.getProperty("tandem.cuda.graphs", "false")),
        decode.equals("half-warps"),
        gemm.equals("staged"));
  }

  /**
   * The value of option {@code key}, else of system property {@code "tandem." + key}, else {@code
   * preferred}; it must be {@code preferred} or {@code other}.
   */
  private static String choice(BackendConfig config, String key, String preferred, String other) {
    String value =
        config
            .option(key, System.getProperty("tandem." + key, preferred))
            .trim()
            .toLowerCase(Locale.ROOT);
    if (!value.equals(preferred) && !value.equals(other)) {
      throw new IllegalArgumentException(
          key + "=" + value + ": must be " + preferred + " or " + other);
    }
    return value;
  }

  private static boolean flag(BackendConfig config, String key, String fallback) {
    String value = config.option(key, fallback).trim().toLowerCase(Locale.ROOT);
    if (!value.equals("true") && !value.equals("false")) {
      throw new IllegalArgumentException(key + "=" + value + ": must be true or false");
    }
    return value.equals("true");
  }
}
