/** Tandem plugin "opencl": OpenCL backend (Aparapi). */
module dev.tandem.backend.opencl {
  requires dev.tandem.api;

  provides dev.tandem.api.backend.AttentionBackendProvider with
      dev.tandem.backend.opencl.OpenClBackendProvider;
}
