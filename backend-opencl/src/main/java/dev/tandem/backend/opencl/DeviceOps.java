package dev.tandem.backend.opencl;

import com.aparapi.Range;
import com.aparapi.device.Device;
import com.aparapi.device.OpenCLDevice;
import com.aparapi.internal.kernel.KernelManager;
import java.io.IOException;
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
 * them humongous objects that G1 never moves; see {@link #residentSize}. With another collector the
 * backend is unavailable ({@link HeapPlacement}).
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
 * <p>With the queue on (option opencl.queue, the default on GPUs), {@link #launch} queues an op as
 * a pass (see {@link DeviceState}); the queue runs as one Aparapi execute when the host next reads
 * a result ({@link #get}), changes an array the queued ops may read (the big staging array, the
 * small ones when their room is used up, {@code meta} from its start), or when it is full: a greedy
 * decode step is two executes, one ending with the chosen tokens' copy-out, one with their
 * log-probabilities'. Aparapi's per-launch work (walking the kernel's fields, setting every
 * argument, its two work-group queries) is paid once per execute instead of once per op, and the
 * ops of a decode step run without a round trip through Java between them. After every execute the
 * kernel must still be bound to the chosen OpenCL device: Aparapi silently falls back to a Java
 * thread pool when a launch fails (code it cannot translate, a buffer the device refuses), and that
 * is reported as an error instead of running slowly in silence.
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

  /** Passes one execute runs at most (a t5-small decode step is about 110). */
  static final int MAX_PASSES = 256;

  /** Java arrays hold at most this many elements. */
  static final int MAX_ARRAY = Integer.MAX_VALUE - 8;

  private static final System.Logger LOG = System.getLogger(DeviceOps.class.getName());

  private final OpenCLDevice device;
  private final DeviceKernel kernel = new DeviceKernel();
  private final LaunchArgs args = new LaunchArgs();
  private final int localSize;
  private final int computeUnits;
  private final boolean cpuDevice;

  /** Whether ops wait in a queue (else each runs when launched); see {@link #launch}. */
  private final boolean queue;

  /** Time per op when profiling (then without the queue), else null. */
  private final OpProfile profile;

  /** Largest global size of an execute of queued ops. */
  private final int maxGlobal;

  /** Ops queued in kernel.passes, and the largest item count among them. */
  private int queued;

  private int queuedItems;

  /** Whether a queued op reads meta. */
  private boolean queuedReadsMeta;

  /** Ints at the start of intStage that queued ops still read (each write appends). */
  private int intStaged;

  /** Floats at the start of the small stage that queued ops still read (as intStaged). */
  private int floatStaged;

  private boolean disposed;

  DeviceOps(OpenCLDevice device, boolean queue, boolean profile) {
    this.device = device;
    this.queue = queue && !profile;
    this.profile = profile ? new OpProfile() : null;
    this.localSize = Math.min(64, Math.max(1, device.getMaxWorkGroupSize()));
    this.computeUnits = Math.max(1, device.getMaxComputeUnits());
    this.cpuDevice = device.getType() == Device.TYPE.CPU;
    // Enough work-items to fill every compute unit (2,048 resident on an NVIDIA SM).
    this.maxGlobal = localSize * Math.max(1, computeUnits * 2048 / localSize);
    warnUnlessSignalChaining();
    // Read by Aparapi when it creates the kernel's OpenCL context (first launch): copy host
    // arrays into driver-owned buffers instead of aliasing Java heap memory (see the class doc).
    device.setSharedMemory(false);
    KernelManager.instance().setPreferredDevices(kernel, new LinkedHashSet<>(List.of(device)));
    kernel.setExplicit(true);
    kernel.stage = new float[STAGE_FLOATS];
    kernel.passes = new int[passCapacity() * DeviceState.PASS_INTS];
    kernel.passFactors = new float[passCapacity()];
    kernel.put(kernel.mem).put(kernel.ints).put(kernel.kPool).put(kernel.vPool);
    kernel.put(kernel.meta).put(kernel.stage).put(kernel.bigStage).put(kernel.intStage);
    // The first execute translates and builds the kernel; a failure surfaces here.
    runNow();
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

  /** The arguments of the next {@link #launch}. */
  LaunchArgs args() {
    return args;
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

  /**
   * Runs {@code op} over {@code count} items with the arguments set in {@link #args()}: queued
   * until the host next reads a result when the queue is on, else at once. The queue is for GPUs,
   * where Aparapi's per-launch work is most of a small op's cost. On PoCL it measured slower (see
   * docs/performance.md): the passes of an execute share one range and work-group size, so the
   * decode GEMMs' few long items lose the small work-groups that spread them over the cores; it is
   * off there by default.
   */
  void launch(int op, int count) {
    launch(op, count, localSize);
  }

  /**
   * Runs {@code op} like {@link #launch(int, int)}; without the queue and on a CPU device in
   * work-groups small enough that each core gets two when the work-items are few: for ops whose
   * work-items are long loops (a CPU device runs a work-group on one core, so 32 work-items in one
   * group used one core). Group sizes are 64, 16, 4 or 1, because each size builds the kernel anew
   * on PoCL (seconds, once per size). A GPU keeps full groups: smaller ones would leave most of a
   * warp idle.
   */
  void launchSpread(int op, int count) {
    int size = localSize;
    while (cpuDevice && size > 1 && (long) count < 2L * computeUnits * size) {
      size /= 4;
    }
    launch(op, count, Math.max(1, size));
  }

  /**
   * Runs {@code op} at once, after the queue, in {@code groups} work-groups of {@link #groupSize()}
   * work-items each: for ops whose work-groups cooperate through local memory and barriers, which
   * need exactly that range.
   */
  void launchGroups(int op, int groups) {
    flush();
    record(op, groups * groupSize());
    execute(groups * groupSize(), groupSize());
  }

  /** Work-items of a {@link #launchGroups} work-group. */
  int groupSize() {
    return Math.min(localSize, DeviceSampling.SAMPLE_GROUP);
  }

  private void launch(int op, int count, int group) {
    if (queued == passCapacity()) {
      flush();
    }
    record(op, count);
    if (!queue) {
      execute(Math.max(group, (count + group - 1) / group * group), group);
    }
  }

  /** Passes kernel.passes holds: one without the queue, as each launch puts the whole array. */
  private int passCapacity() {
    return queue ? MAX_PASSES : 1;
  }

  /** Appends op over count items, with the arguments in {@link #args}, to the passes. */
  private void record(int op, int count) {
    checkOpen();
    int at = queued * DeviceState.PASS_INTS;
    int[] passes = kernel.passes;
    passes[at + DeviceState.ARG_OP] = op;
    passes[at + DeviceState.ARG_COUNT] = count;
    passes[at + DeviceState.ARG_OUT] = args.out;
    passes[at + DeviceState.ARG_IN0] = args.in0;
    passes[at + DeviceState.ARG_IN1] = args.in1;
    passes[at + DeviceState.ARG_IN2] = args.in2;
    passes[at + DeviceState.ARG_ROWS] = args.rows;
    passes[at + DeviceState.ARG_COLS] = args.cols;
    passes[at + DeviceState.ARG_INNER] = args.inner;
    passes[at + DeviceState.ARG_MODE] = args.mode;
    kernel.passFactors[queued] = args.factor;
    queued++;
    queuedItems = Math.max(queuedItems, count);
    queuedReadsMeta |= DeviceState.readsMeta(op);
  }

  /** Runs the queued ops, if any, and waits for them. */
  void flush() {
    if (queued > 0) {
      long global = (long) (queuedItems + localSize - 1) / localSize * localSize;
      execute((int) Math.max(localSize, Math.min(maxGlobal, global)), localSize);
    }
  }

  /** One execute now, with an empty pass if nothing is queued: binds buffers put since the last. */
  private void runNow() {
    if (queued == 0) {
      launch(DeviceState.OP_PROBE, 0);
    }
    flush();
  }

  private void execute(int global, int group) {
    checkOpen();
    int passes = queued;
    queued = 0;
    queuedItems = 0;
    queuedReadsMeta = false;
    intStaged = 0;
    floatStaged = 0;
    kernel.put(kernel.passes).put(kernel.passFactors);
    long start = System.nanoTime();
    kernel.execute(Range.create(device, global, group), passes);
    if (profile != null) {
      profile.add(kernel.passes[DeviceState.ARG_OP], System.nanoTime() - start);
    }
    if (!kernel.isRunningCL()) {
      throw new IllegalStateException(
          "opencl: Aparapi could not run the kernel on "
              + device.getShortDescription()
              + " and fell back to Java threads (see its log above: untranslatable code, or a"
              + " buffer larger than the device allows); refusing to run slowly in silence");
    }
  }

  private void checkOpen() {
    if (disposed) {
      throw new IllegalStateException("opencl: backend is closed");
    }
  }

  /** Copies a staging array's device contents to the host, after the queued ops. */
  void get(float[] array) {
    flush();
    kernel.get(array);
  }

  void get(int[] array) {
    flush();
    kernel.get(array);
  }

  // ---- arrays that grow: replaced, copied on the host, put again

  /** Grows the float arena to at least {@code floats}, keeping its device contents. */
  void growMem(long floats, String what) {
    int size = residentSize(floats, what);
    get(kernel.mem);
    float[] grown = java.util.Arrays.copyOf(kernel.mem, size);
    kernel.mem = grown;
    kernel.put(grown);
    runNow(); // binds the new buffer now, so the next get finds it
  }

  void growInts(long count, String what) {
    int size = residentSize(count, what);
    get(kernel.ints);
    int[] grown = java.util.Arrays.copyOf(kernel.ints, size);
    kernel.ints = grown;
    kernel.put(grown);
    runNow();
  }

  /** New zeroed K and V pools of {@code floats} each (the old ones are dropped). */
  void allocatePools(long floats) {
    int size = residentSize(floats, "each KV cache pool (K and V are separate buffers)");
    flush();
    kernel.kPool = new float[1];
    kernel.vPool = new float[1];
    kernel.kPool = new float[size];
    kernel.vPool = new float[size];
    kernel.put(kernel.kPool).put(kernel.vPool);
    runNow();
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

  /**
   * Makes sure meta holds {@code size} ints, keeping the first {@code keep}, for the caller to
   * write from {@code keep} on and put. Queued ops read only what meta held when they were queued:
   * writing from the start (a new step's plans) runs those that read meta first; appending does
   * not.
   */
  int[] meta(int size, int keep) {
    if (keep == 0 && queuedReadsMeta) {
      flush();
    }
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

  /**
   * Copies floats to the device through a staging array: small writes append in the small stage
   * after what earlier writes queued there (as {@link #writeInts}); large ones run the queue first.
   */
  void writeFloats(int offset, float[] src, int srcOffset, int length) {
    int done = 0;
    while (done < length) {
      int n = Math.min(length - done, length <= STAGE_FLOATS ? STAGE_FLOATS : BIG_STAGE_FLOATS);
      boolean small = n <= STAGE_FLOATS;
      if (!small || floatStaged + n > STAGE_FLOATS) {
        flush(); // queued ops may still read the staging array
      }
      int at = small ? floatStaged : 0;
      float[] stage = small ? kernel.stage : bigStage(n);
      System.arraycopy(src, srcOffset + done, stage, at, n);
      kernel.put(stage);
      args.out = offset + done;
      args.in0 = at;
      args.mode = small ? 0 : 1;
      if (small) {
        floatStaged = at + n;
      }
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
      args.in0 = offset + done;
      args.mode = small ? 0 : 1;
      launch(DeviceKernel.OP_STAGE_OUT, n);
      get(stage);
      System.arraycopy(stage, 0, dst, dstOffset + done, n);
      done += n;
    }
  }

  /**
   * Copies ints to the device through intStage, after what earlier writes queued there: a step's
   * writes (token ids, positions) share one execute.
   */
  void writeInts(int offset, int[] src, int srcOffset, int length) {
    if (length == 0) {
      return;
    }
    if (intStaged + length > kernel.intStage.length) {
      intStage(length); // runs the queue, which empties intStage, and grows it if need be
    }
    int at = intStaged;
    System.arraycopy(src, srcOffset, kernel.intStage, at, length);
    kernel.put(kernel.intStage);
    args.out = offset;
    args.in0 = at;
    intStaged = at + length;
    launch(DeviceKernel.OP_STAGE_IN_INT, length);
  }

  void readInts(int offset, int[] dst, int dstOffset, int length) {
    if (length == 0) {
      return;
    }
    // Queued ops that read intStage run before this copy overwrites it on the device, and the
    // host array keeps what they need until the get: no run of the queue first, unless it grows.
    int[] stage = kernel.intStage.length < length ? intStage(length) : kernel.intStage;
    args.in0 = offset;
    launch(DeviceKernel.OP_STAGE_OUT_INT, length);
    get(stage);
    System.arraycopy(stage, 0, dst, dstOffset, length);
  }

  /**
   * The big staging array, at least {@code floats} long, once the queued ops (which may read it)
   * have run; the caller puts it if it filled it.
   */
  float[] bigStage(int floats) {
    flush();
    if (kernel.bigStage.length < floats) {
      kernel.bigStage = new float[checkedSize(floats, "a staged transfer")];
    }
    return kernel.bigStage;
  }

  /** The int staging array, as {@link #bigStage}. */
  int[] intStage(int count) {
    flush();
    if (kernel.intStage.length < count) {
      kernel.intStage = new int[Math.max(count, 2 * kernel.intStage.length)];
    }
    return kernel.intStage;
  }

  void fill(int offset, int length, float value) {
    if (length > 0) {
      args.out = offset;
      args.factor = value;
      launch(DeviceKernel.OP_FILL, length);
    }
  }

  void fillInts(int offset, int length, int value) {
    if (length > 0) {
      args.out = offset;
      args.mode = value;
      launch(DeviceKernel.OP_FILL_INT, length);
    }
  }

  /** The profile's table so far, or null when not profiling. */
  String profileTable() {
    return profile == null ? null : profile.table();
  }

  @Override
  public void close() {
    if (!disposed) {
      disposed = true;
      if (profile != null) {
        System.err.print(profile.table());
      }
      kernel.dispose(); // safe: the constructor executed the kernel once (compile-then-dispose
      // without an execute crashes the JVM)
    }
  }
}
