/**
 * Tandem plugin "opencl": the whole model on one OpenCL device (a GPU, or PoCL's CPU device)
 * through Aparapi, which translates the Java kernel {@code DeviceKernel} to OpenCL C at run time.
 * Aparapi reads the kernel's bytecode and fields reflectively, hence the {@code opens}; its JNI
 * library needs {@code --enable-native-access=aparapi} (or ALL-UNNAMED on the class path).
 */
module dev.tandem.backend.opencl {
  requires dev.tandem.api;
  requires aparapi;
  requires java.logging;
  requires java.management;
  requires jdk.management;

  opens dev.tandem.backend.opencl to
      aparapi;

  provides dev.tandem.api.backend.AttentionBackendProvider with
      dev.tandem.backend.opencl.OpenClBackendProvider;
}
