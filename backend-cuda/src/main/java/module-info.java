/**
 * Tandem plugin "cuda": the whole model on an NVIDIA GPU through JCuda's driver API, with kernels
 * that nvcc compiled ahead of time (PTX and fatbin resources; see scripts/build-cuda-kernels.sh).
 *
 * <p>JCuda unpacks its native library ({@code lib/libJCudaDriver-12.6.0-linux-x86_64.so} in
 * jcuda-natives) only when it is on the class path: it looks the library up with {@code
 * LibUtils.class.getResourceAsStream}, which in a named module searches only the jcuda module
 * itself. On the module path, or in a plugin layer, do one of: load this plugin and JCuda
 * class-path style; extract that library into a folder on {@code java.library.path} (JCuda tries
 * {@code System.loadLibrary} first); or ship one jar holding both jcuda's classes and {@code
 * lib/libJCudaDriver-*.so}. Without it, the provider reports itself unavailable and says so.
 */
module dev.tandem.backend.cuda {
  requires dev.tandem.api;
  requires jcuda;

  provides dev.tandem.api.backend.AttentionBackendProvider with
      dev.tandem.backend.cuda.CudaBackendProvider;
}
