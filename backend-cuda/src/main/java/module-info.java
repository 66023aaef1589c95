/**
 * Tandem plugin "cuda": the whole model on an NVIDIA GPU through JCuda's driver API, with kernels
 * that nvcc compiled ahead of time (PTX and fatbin resources; see scripts/build-cuda-kernels.sh).
 *
 * <p>JCuda unpacks its native library ({@code lib/libJCudaDriver-12.6.0-linux-x86_64.so} in
 * jcuda-natives) only when it is on the class path. On the module path, or in a plugin layer,
 * either load this plugin and JCuda class-path style, or extract that library into a folder on
 * {@code java.library.path}: JCuda tries {@code System.loadLibrary} first.
 */
module dev.tandem.backend.cuda {
  requires dev.tandem.api;
  requires jcuda;

  provides dev.tandem.api.backend.AttentionBackendProvider with
      dev.tandem.backend.cuda.CudaBackendProvider;
}
