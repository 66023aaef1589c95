package dev.tandem.backend.cuda;

import dev.tandem.api.Availability;
import java.io.PrintWriter;
import java.io.StringWriter;
import jcuda.CudaException;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.JCudaDriver;

/**
 * Finds out, once per JVM, whether this machine can run the CUDA backend, and why not. Each step
 * that can fail gives its own reason: JCuda missing, its natives not loadable, no driver
 * (libcuda.so.1), cuInit failing, no device, a device too old for the PTX, or the driver refusing
 * the kernel modules. Never throws.
 */
final class CudaProbe {

  /** The oldest device the compute_75 PTX runs on. */
  static final int MIN_COMPUTE_CAPABILITY = 75;

  private static volatile Availability result;

  private CudaProbe() {}

  static Availability availability() {
    Availability r = result;
    if (r == null) {
      synchronized (CudaProbe.class) {
        r = result;
        if (r == null) {
          r = probe();
          result = r;
        }
      }
    }
    return r;
  }

  private static Availability probe() {
    try {
      Class.forName("jcuda.driver.JCudaDriver", false, CudaProbe.class.getClassLoader());
    } catch (ClassNotFoundException | LinkageError e) {
      return Availability.unavailable("JCuda is not on the class path (org.jcuda:jcuda:12.6.0)");
    }
    try {
      // Loads libJCudaDriver, which links against libcuda.so.1.
      JCudaDriver.setExceptionsEnabled(true);
    } catch (LinkageError e) {
      return nativesFailure(e);
    }
    try {
      JCudaDriver.cuInit(0);
      int[] count = new int[1];
      JCudaDriver.cuDeviceGetCount(count);
      if (count[0] == 0) {
        return Availability.unavailable("no CUDA device: the driver reports 0 devices");
      }
      CUdevice device = new CUdevice();
      JCudaDriver.cuDeviceGet(device, 0);
      int cc = computeCapability(device);
      if (cc < MIN_COMPUTE_CAPABILITY) {
        return Availability.unavailable(
            "CUDA device 0 has compute capability "
                + cc / 10
                + "."
                + cc % 10
                + "; the kernels need 7.5 or newer");
      }
      CUcontext context = new CUcontext();
      JCudaDriver.cuDevicePrimaryCtxRetain(context, device);
      try {
        JCudaDriver.cuCtxSetCurrent(context);
        CudaKernels.load(CudaKernels.Image.FATBIN).close();
      } catch (CudaException | IllegalStateException e) {
        return Availability.unavailable(
            "the CUDA driver cannot load Tandem's kernel modules: " + e.getMessage());
      } finally {
        JCudaDriver.cuDevicePrimaryCtxRelease(device);
      }
      return Availability.AVAILABLE;
    } catch (CudaException e) {
      return Availability.unavailable("CUDA driver error while probing: " + e.getMessage());
    } catch (RuntimeException | LinkageError e) {
      return Availability.unavailable("CUDA probe failed: " + e);
    }
  }

  static int computeCapability(CUdevice device) {
    int[] major = new int[1];
    int[] minor = new int[1];
    JCudaDriver.cuDeviceGetAttribute(
        major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
    JCudaDriver.cuDeviceGetAttribute(
        minor, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
    return major[0] * 10 + minor[0];
  }

  /** JCuda packs both load attempts' stack traces into the message; find the cause in them. */
  private static Availability nativesFailure(LinkageError e) {
    StringWriter text = new StringWriter();
    e.printStackTrace(new PrintWriter(text));
    String all = text.toString();
    if (all.contains("libcuda.so.1")) {
      return Availability.unavailable("no CUDA driver: libcuda.so.1 not found");
    }
    String hint =
        CudaProbe.class.getModule().isNamed()
            ? " (on the module path JCuda cannot unpack its natives: put"
                + " libJCudaDriver-12.6.0-linux-x86_64.so on java.library.path or load the plugin"
                + " class-path style)"
            : " (is org.jcuda:jcuda-natives:12.6.0:linux-x86_64 on the class path?)";
    String first = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
    return Availability.unavailable("JCuda's driver natives did not load: " + first + hint);
  }
}
