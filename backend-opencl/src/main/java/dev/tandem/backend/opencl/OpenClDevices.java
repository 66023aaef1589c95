package dev.tandem.backend.opencl;

import com.aparapi.device.Device;
import com.aparapi.device.OpenCLDevice;
import com.aparapi.internal.opencl.OpenCLLoader;
import com.aparapi.internal.opencl.OpenCLPlatform;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Finds OpenCL devices through Aparapi and picks one: by the option {@code opencl.device} (an index
 * into {@link #list()} or a case-insensitive substring of the device name), else the first GPU,
 * else the first CPU device. Every failure is a message a user can act on, never an exception.
 */
final class OpenClDevices {

  /** Where a Debian/Ubuntu system keeps the ICD loader; LD_LIBRARY_PATH is searched first. */
  private static final List<String> LIBRARY_DIRS =
      List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib");

  static {
    initializeAparapiKeepingLogLevels();
  }

  private OpenClDevices() {}

  /**
   * Aparapi's {@code Config}, when its class initializes, sets every handler of the root logger to
   * Aparapi's own log level (WARNING unless {@code com.aparapi.logLevel} says otherwise): probing
   * the backends silenced the application's INFO lines for the rest of the process ({@code tandem
   * -v} showed nothing). This class is the backend's first use of Aparapi; it initializes Aparapi's
   * configuration here and puts the handlers' levels back.
   */
  private static void initializeAparapiKeepingLogLevels() {
    Handler[] handlers = Logger.getLogger("").getHandlers();
    Level[] levels = new Level[handlers.length];
    for (int i = 0; i < handlers.length; i++) {
      levels[i] = handlers[i].getLevel();
    }
    try {
      Class.forName("com.aparapi.Config", true, OpenClDevices.class.getClassLoader());
    } catch (ClassNotFoundException | LinkageError e) {
      return; // Aparapi is unusable: availability() says why when it is asked
    }
    for (int i = 0; i < handlers.length; i++) {
      handlers[i].setLevel(levels[i]);
    }
  }

  /** Either a device or why there is none. */
  record Choice(OpenCLDevice device, String problem) {}

  /** Every device of every platform, platform by platform; empty when OpenCL is missing. */
  static List<OpenCLDevice> list() {
    List<OpenCLDevice> devices = new ArrayList<>();
    List<OpenCLPlatform> platforms =
        QuietStderr.call(() -> new OpenCLPlatform(0, null, null, null).getOpenCLPlatforms());
    for (OpenCLPlatform platform : platforms) {
      devices.addAll(platform.getOpenCLDevices());
    }
    return devices;
  }

  /** The device {@code selector} names (null or blank: first GPU, else first CPU device). */
  static Choice choose(String selector) {
    try {
      if (!OpenCLLoader.isOpenCLAvailable()) {
        return new Choice(null, missingLibraryReason());
      }
      List<OpenCLDevice> devices = list();
      if (devices.isEmpty()) {
        return new Choice(
            null,
            "no OpenCL platform or device: libOpenCL.so.1 found no driver (install a GPU driver"
                + " or pocl-opencl-icd, or point OCL_ICD_VENDORS at an .icd file)");
      }
      if (selector == null || selector.isBlank()) {
        OpenCLDevice gpu = first(devices, Device.TYPE.GPU);
        OpenCLDevice cpu = first(devices, Device.TYPE.CPU);
        OpenCLDevice pick = gpu != null ? gpu : cpu != null ? cpu : devices.get(0);
        return new Choice(pick, null);
      }
      return bySelector(devices, selector.strip());
    } catch (LinkageError | RuntimeException e) {
      return new Choice(null, "OpenCL could not be initialized through Aparapi: " + e);
    }
  }

  private static Choice bySelector(List<OpenCLDevice> devices, String selector) {
    if (selector.chars().allMatch(Character::isDigit)) {
      int index = Integer.parseInt(selector);
      if (index < devices.size()) {
        return new Choice(devices.get(index), null);
      }
      return new Choice(
          null, "opencl.device=" + selector + ": no such device; there are " + names(devices));
    }
    String needle = selector.toLowerCase(Locale.ROOT);
    for (OpenCLDevice d : devices) {
      if (d.getName().toLowerCase(Locale.ROOT).contains(needle)) {
        return new Choice(d, null);
      }
    }
    return new Choice(
        null,
        "opencl.device=" + selector + ": no device name contains it; there are " + names(devices));
  }

  private static OpenCLDevice first(List<OpenCLDevice> devices, Device.TYPE type) {
    return devices.stream().filter(d -> d.getType() == type).findFirst().orElse(null);
  }

  private static String names(List<OpenCLDevice> devices) {
    List<String> names = new ArrayList<>();
    for (int i = 0; i < devices.size(); i++) {
      names.add(i + ": " + describe(devices.get(i)));
    }
    return String.join("; ", names);
  }

  /** "NVIDIA H200 (GPU, NVIDIA CUDA)". */
  static String describe(OpenCLDevice device) {
    return device.getName().strip()
        + " ("
        + device.getType()
        + ", "
        + device.getOpenCLPlatform().getName().strip()
        + ")";
  }

  private static String missingLibraryReason() {
    if (findLibrary("libOpenCL.so.1") == null) {
      return "no OpenCL ICD loader: libOpenCL.so.1 not found on LD_LIBRARY_PATH or in "
          + LIBRARY_DIRS
          + " (install ocl-icd-libopencl1 and a driver such as pocl-opencl-icd)";
    }
    return "Aparapi could not load OpenCL (libOpenCL.so.1 is present; see Aparapi's log for the"
        + " native library error)";
  }

  private static Path findLibrary(String name) {
    List<String> dirs = new ArrayList<>();
    String ld = System.getenv("LD_LIBRARY_PATH");
    if (ld != null) {
      dirs.addAll(List.of(ld.split(":")));
    }
    dirs.addAll(LIBRARY_DIRS);
    for (String dir : dirs) {
      if (!dir.isBlank() && Files.exists(Path.of(dir, name))) {
        return Path.of(dir, name);
      }
    }
    return null;
  }
}
