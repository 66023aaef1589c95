package dev.tandem.backend.opencl;

import com.aparapi.Range;
import com.aparapi.device.Device;
import com.aparapi.device.OpenCLDevice;
import com.aparapi.internal.kernel.KernelManager;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * Owns the one {@link DeviceKernel} of a backend and every transfer to and from it. The explicit
 * mode discipline lives here and only here: an array the host changes is {@code put} before the
 * next launch; device results reach the host only through {@code get} of a staging array, right
 * after the launch that filled it. (Buffers are copies, not aliases of the Java arrays, on every
 * device: see below.)
 *
 * <p>Arrays whose contents live only on the device ({@code mem}, {@code ints}, {@code kPool},
 * {@code vPool}) must never move in the Java heap: when Aparapi sees that an array's address
 * changed since the last launch (the GC moved it), it recreates the OpenCL buffer from the host
 * array ({@code CL_MEM_USE_HOST_PTR}), and on a discrete GPU the device contents are replaced by
 * the stale host copy. They are therefore at least {@link #MIN_RESIDENT} elements long, which makes
 * them humongous objects that G1 never moves; see {@link #residentSize}.
 *
 * <p>Buffers are created with {@code CL_MEM_COPY_HOST_PTR}, never {@code CL_MEM_USE_HOST_PTR}
 * (Aparapi's default, {@link OpenCLDevice#isSharedMemory}): an OpenCL buffer over a host pointer
 * keeps using that pointer after the JNI call that pinned the array returns, but the GC may move a
 * non-humongous array (the 1-element placeholders, the staging arrays) and then free and uncommit
 * its old region. On PoCL such a buffer's device memory is the old address itself, so a later
 * {@code get} copied from freed heap: stale data, or SIGSEGV in a PoCL worker thread when G1 had
 * shrunk the heap. With copied buffers the device memory belongs to the driver, the Java array is
 * only touched while pinned during a put, get or launch, and PoCL behaves like a discrete GPU (a
 * missing put or get shows on the CPU too).
 *
 * <p>Launches are synchronous. After every launch the kernel must still be bound to the chosen
 * OpenCL device: Aparapi silently falls back to a Java thread pool when a launch fails (code it
 * cannot translate, a buffer the device refuses), and that is reported as an error instead of
 * running slowly in silence.
 */
final class DeviceOps implements AutoCloseable {

  /** Floats of the small staging array: one put/get copies all of it, so it stays small. */
  static final int STAGE_FLOATS = 1 << 14;

  /** Largest chunk moved through the big staging array at once (16 MiB). */
  static final int BIG_STAGE_FLOATS = 1 << 22;

  /**
   * Smallest length of a device-resident array: 2^22 four-byte elements plus the array header
   * exceed half of G1's largest ergonomic region (32 MiB), so G1 allocates the array as a humongous
   * object and never moves it while the heap's regions are at most 32 MiB (the default).
   */
  static final int MIN_RESIDENT = 1 << 22;

  /** Java arrays hold at most this many elements. */
  static final int MAX_ARRAY = Integer.MAX_VALUE - 8;

  private static final System.Logger LOG = System.getLogger(DeviceOps.class.getName());

  private final OpenCLDevice device;
  private final DeviceKernel kernel = new DeviceKernel();
  private final int localSize;
  private final int computeUnits;
  private final boolean cpuDevice;
  private boolean disposed;

  DeviceOps(OpenCLDevice device) {
    this.device = device;
    this.localSize = Math.min(64, Math.max(1, device.getMaxWorkGroupSize()));
    this.computeUnits = Math.max(1, device.getMaxComputeUnits());
    this.cpuDevice = device.getType() == Device.TYPE.CPU;
    warnUnlessG1();
    warnUnlessSignalChaining();
    // Read by Aparapi when it creates the kernel's OpenCL context (first launch): copy host
    // arrays into driver-owned buffers instead of aliasing Java heap memory (see the class doc).
    device.setSharedMemory(false);
    KernelManager.instance().setPreferredDevices(kernel, new LinkedHashSet<>(List.of(device)));
    kernel.setExplicit(true);
    kernel.stage = new float[STAGE_FLOATS];
    kernel.put(kernel.mem).put(kernel.ints).put(kernel.kPool).put(kernel.vPool);
    kernel.put(kernel.meta).put(kernel.stage).put(kernel.bigStage).put(kernel.intStage);
    // The first launch translates and builds the kernel; a failure surfaces here.
    kernel.count = 0;
    launch(DeviceKernel.OP_PROBE, 0);
  }

  /** Only G1 is known to keep {@link #MIN_RESIDENT}-long arrays in place (see the class doc). */
  private static void warnUnlessG1() {
    List<String> collectors =
        ManagementFactory.getGarbageCollectorMXBeans().stream()
            .map(GarbageCollectorMXBean::getName)
            .toList();
    if (collectors.stream().noneMatch(name -> name.startsWith("G1"))) {
      LOG.log(
          System.Logger.Level.WARNING,
          "opencl: the JVM runs garbage collector(s) {0}, not G1: if it moves a device-resident"
              + " array, Aparapi recreates the device buffer from the stale host copy and a"
              + " discrete GPU loses weights or KV cache; run with -XX:+UseG1GC (the default)",
          collectors);
    }
  }

  private static boolean signalWarningDone;

  /**
   * PoCL's LLVM installs its own SIGSEGV, SIGBUS, SIGILL and SIGFPE handlers (one-shot, not
   * chained) over the JVM's when the kernel is built; the JVM takes implicit null checks through
   * SIGSEGV, so two threads trapping at once kill it with no hs_err file. Java's signal-chaining
   * library, preloaded, keeps the JVM's handlers first ({@code bin/tandem} and the tests do).
   */
  private static synchronized void warnUnlessSignalChaining() {
    if (signalWarningDone) {
      return;
    }
    signalWarningDone = true;
    Path maps = Path.of("/proc/self/maps");
    try {
      if (!Files.exists(maps) || Files.readString(maps).contains("libjsig")) {
        return;
      }
    } catch (IOException | RuntimeException e) {
      return; // cannot tell: say nothing
    }
    LOG.log(
        System.Logger.Level.WARNING,
        "opencl: the JVM runs without libjsig: an OpenCL driver built on LLVM (PoCL) replaces the"
            + " JVM''s signal handlers and the JVM can die with SIGSEGV; start java with"
            + " LD_PRELOAD={0}/lib/libjsig.so",
        System.getProperty("java.home"));
  }

  DeviceKernel kernel() {
    return kernel;
  }

  /** Whether the device is a CPU (PoCL): its global memory is the host's RAM. */
  boolean cpuDevice() {
    return cpuDevice;
  }

  OpenCLDevice device() {
    return device;
  }

  /** Largest buffer the device allocates, in floats, capped by what a Java array holds. */
  long maxBufferFloats() {
    return Math.min(MAX_ARRAY, device.getMaxMemAllocSize() / Float.BYTES);
  }

  /** Runs {@code op} over {@code count} work-items with the arguments already set. */
  void launch(int op, int count) {
    launch(op, count, localSize);
  }

  /**
   * Runs {@code op} like {@link #launch(int, int)}; on a CPU device in work-groups small enough
   * that each core gets two when the work-items are few: for ops whose work-items are long loops (a
   * CPU device runs a work-group on one core, so 32 work-items in one group used one core). Group
   * sizes are 64, 16, 4 or 1, because each size builds the kernel anew on PoCL (seconds, once per
   * size). A GPU keeps full groups: smaller ones would leave most of a warp idle.
   */
  void launchSpread(int op, int count) {
    int size = localSize;
    while (cpuDevice && size > 1 && (long) count < 2L * computeUnits * size) {
      size /= 4;
    }
    launch(op, count, Math.max(1, size));
  }

  /**
   * Runs {@code op} in {@code groups} work-groups of {@link #groupSize()} work-items each (count =
   * groups · that size): for ops whose work-groups cooperate through local memory and barriers.
   */
  void launchGroups(int op, int groups) {
    launch(op, groups * groupSize(), groupSize());
  }

  /** Work-items of a {@link #launchGroups} work-group. */
  int groupSize() {
    return Math.min(localSize, DeviceSampling.SAMPLE_GROUP);
  }

  private void launch(int op, int count, int groupSize) {
    if (disposed) {
      throw new IllegalStateException("opencl: backend is closed");
    }
    kernel.op = op;
    kernel.count = count;
    int global = Math.max(groupSize, (count + groupSize - 1) / groupSize * groupSize);
    kernel.execute(Range.create(device, global, groupSize));
    if (!kernel.isRunningCL()) {
      throw new IllegalStateException(
          "opencl: Aparapi could not run the kernel on "
              + device.getShortDescription()
              + " and fell back to Java threads (see its log above: untranslatable code, or a"
              + " buffer larger than the device allows); refusing to run slowly in silence");
    }
  }

  // ---- arrays that grow: replaced, copied on the host, put again

  /** Grows the float arena to at least {@code floats}, keeping its device contents. */
  void growMem(long floats, String what) {
    int size = residentSize(floats, what);
    kernel.get(kernel.mem);
    float[] grown = java.util.Arrays.copyOf(kernel.mem, size);
    kernel.mem = grown;
    kernel.put(grown);
    launch(DeviceKernel.OP_PROBE, 0); // binds the new buffer now, so the next get finds it
  }

  void growInts(long count, String what) {
    int size = residentSize(count, what);
    kernel.get(kernel.ints);
    int[] grown = java.util.Arrays.copyOf(kernel.ints, size);
    kernel.ints = grown;
    kernel.put(grown);
    launch(DeviceKernel.OP_PROBE, 0);
  }

  /** New zeroed K and V pools of {@code floats} each (the old ones are dropped). */
  void allocatePools(long floats) {
    int size = residentSize(floats, "each KV cache pool (K and V are separate buffers)");
    kernel.kPool = new float[1];
    kernel.vPool = new float[1];
    kernel.kPool = new float[size];
    kernel.vPool = new float[size];
    kernel.put(kernel.kPool).put(kernel.vPool);
    launch(DeviceKernel.OP_PROBE, 0);
  }

  /**
   * The length of a device-resident array that must hold {@code elements}: at least {@link
   * #MIN_RESIDENT}, so the GC never moves it (a moved array loses its device contents).
   */
  private int residentSize(long elements, String what) {
    return checkedSize(Math.max(elements, Math.min(MIN_RESIDENT, maxBufferFloats())), what);
  }

  private int checkedSize(long elements, String what) {
    if (elements > maxBufferFloats()) {
      throw new IllegalArgumentException(
          "opencl: "
              + what
              + " needs "
              + elements * Float.BYTES
              + " bytes in one OpenCL buffer, but "
              + device.getShortDescription()
              + " allows at most "
              + maxBufferFloats() * Float.BYTES
              + " per buffer (CL_DEVICE_MAX_MEM_ALLOC_SIZE, and a Java array holds 2^31"
              + " elements); the backend keeps weights and activations in one buffer and each"
              + " KV pool in its own, so use a smaller model, batch or KV cache");
    }
    return (int) elements;
  }

  /** Makes sure meta holds {@code size} ints, keeping the first {@code keep}; put by the caller. */
  int[] meta(int size, int keep) {
    if (kernel.meta.length < size) {
      int[] grown = new int[Math.max(size, kernel.meta.length * 2)];
      System.arraycopy(kernel.meta, 0, grown, 0, keep);
      kernel.meta = grown;
    }
    return kernel.meta;
  }

  void putMeta() {
    kernel.put(kernel.meta);
  }

  // ---- host <-> device copies through the staging arrays

  void writeFloats(int offset, float[] src, int srcOffset, int length) {
    int done = 0;
    while (done < length) {
      int n = Math.min(length - done, length <= STAGE_FLOATS ? STAGE_FLOATS : BIG_STAGE_FLOATS);
      boolean small = n <= STAGE_FLOATS;
      float[] stage = small ? kernel.stage : bigStage(n);
      System.arraycopy(src, srcOffset + done, stage, 0, n);
      kernel.put(stage);
      kernel.out = offset + done;
      kernel.mode = small ? 0 : 1;
      launch(DeviceKernel.OP_STAGE_IN, n);
      done += n;
    }
  }

  void readFloats(int offset, float[] dst, int dstOffset, int length) {
    int done = 0;
    while (done < length) {
      int n = Math.min(length - done, length <= STAGE_FLOATS ? STAGE_FLOATS : BIG_STAGE_FLOATS);
      boolean small = n <= STAGE_FLOATS;
      float[] stage = small ? kernel.stage : bigStage(n);
      kernel.in0 = offset + done;
      kernel.mode = small ? 0 : 1;
      launch(DeviceKernel.OP_STAGE_OUT, n);
      kernel.get(stage);
      System.arraycopy(stage, 0, dst, dstOffset + done, n);
      done += n;
    }
  }

  void writeInts(int offset, int[] src, int srcOffset, int length) {
    if (length == 0) {
      return;
    }
    int[] stage = intStage(length);
    System.arraycopy(src, srcOffset, stage, 0, length);
    kernel.put(stage);
    kernel.out = offset;
    launch(DeviceKernel.OP_STAGE_IN_INT, length);
  }

  void readInts(int offset, int[] dst, int dstOffset, int length) {
    if (length == 0) {
      return;
    }
    int[] stage = intStage(length);
    kernel.in0 = offset;
    launch(DeviceKernel.OP_STAGE_OUT_INT, length);
    kernel.get(stage);
    System.arraycopy(stage, 0, dst, dstOffset, length);
  }

  /** The big staging array, at least {@code floats} long; the caller puts it if it filled it. */
  float[] bigStage(int floats) {
    if (kernel.bigStage.length < floats) {
      kernel.bigStage = new float[checkedSize(floats, "a staged transfer")];
    }
    return kernel.bigStage;
  }

  /** The int staging array, at least {@code count} long; the caller puts it if it filled it. */
  int[] intStage(int count) {
    if (kernel.intStage.length < count) {
      kernel.intStage = new int[Math.max(count, 2 * kernel.intStage.length)];
    }
    return kernel.intStage;
  }

  void fill(int offset, int length, float value) {
    if (length > 0) {
      kernel.out = offset;
      kernel.factor = value;
      launch(DeviceKernel.OP_FILL, length);
    }
  }

  void fillInts(int offset, int length, int value) {
    if (length > 0) {
      kernel.out = offset;
      kernel.mode = value;
      launch(DeviceKernel.OP_FILL_INT, length);
    }
  }

  @Override
  public void close() {
    if (!disposed) {
      disposed = true;
      kernel.dispose(); // safe: the constructor executed the kernel once (compile-then-dispose
      // without an execute crashes the JVM)
    }
  }
}
