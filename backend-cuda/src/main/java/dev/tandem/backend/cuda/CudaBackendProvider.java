package dev.tandem.backend.cuda;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.Availability;
import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.backend.BackendConfig;
import jcuda.driver.JCudaDriver;

/**
 * The "cuda" backend: the whole model on an NVIDIA GPU (compute capability 7.5 or newer) through
 * JCuda's driver API. Options: see {@link CudaSettings}. Available when JCuda's driver natives
 * load, libcuda.so.1 is present, cuInit succeeds, a device exists and the driver accepts the kernel
 * modules.
 */
public final class CudaBackendProvider implements AttentionBackendProvider {

  @Override
  public String name() {
    return "cuda";
  }

  @Override
  public int priority() {
    return 300;
  }

  @Override
  public Availability availability() {
    return CudaProbe.availability();
  }

  @Override
  public String description() {
    return "NVIDIA GPU through JCuda's driver API (nvcc-built kernels, paged attention)";
  }

  @Override
  public AttentionBackend create(BackendConfig config) {
    requireNonNull(config, "config is null");
    CudaSettings settings = CudaSettings.from(config);
    Availability availability = availability();
    if (!availability.available()) {
      throw new IllegalStateException("CUDA backend unavailable: " + availability.reason());
    }
    int[] count = new int[1];
    JCudaDriver.cuDeviceGetCount(count);
    if (settings.deviceIndex() >= count[0]) {
      throw new IllegalArgumentException(
          "cuda.device="
              + settings.deviceIndex()
              + ": this machine has "
              + count[0]
              + " CUDA device(s), indexes 0 to "
              + (count[0] - 1));
    }
    return new CudaBackend(settings);
  }
}
