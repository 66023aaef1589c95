/** Tandem plugin "cpu": CPU backend on host memory, kernels written with the JDK Vector API. */
module dev.tandem.backend.cpu {
  requires dev.tandem.api;
  requires jdk.incubator.vector;

  provides dev.tandem.api.backend.AttentionBackendProvider with
      dev.tandem.backend.cpu.CpuBackendProvider;
}
