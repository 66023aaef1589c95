/** Tandem plugin "cpu": CPU backend (Vector API). */
module dev.tandem.backend.cpu {
  requires dev.tandem.api;

  provides dev.tandem.api.backend.AttentionBackendProvider with
      dev.tandem.backend.cpu.CpuBackendProvider;
}
