/** Tandem plugin "cuda": CUDA backend (JCuda driver API). */
module dev.tandem.backend.cuda {
  requires dev.tandem.api;

  provides dev.tandem.api.backend.AttentionBackendProvider with
      dev.tandem.backend.cuda.CudaBackendProvider;
}
