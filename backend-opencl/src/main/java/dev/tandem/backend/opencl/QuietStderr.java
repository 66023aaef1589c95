package dev.tandem.backend.opencl;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.function.Supplier;

/**
 * Runs an Aparapi call with the process's native stderr (file descriptor 2) pointed at /dev/null.
 * Aparapi's JNI library prints "WARNING: Aparapi is running on an untested OpenCL platform version"
 * with fprintf for every platform newer than it knows (PoCL 3, NVIDIA's OpenCL 3.0) whenever it
 * lists the platforms, which every command that probes the backends (`tandem generate` with {@code
 * auto}) did on the user's terminal. Java's own stderr writes in that window are lost too, so only
 * the short platform query runs silenced. Without libc's dup/dup2 the call runs as is.
 */
final class QuietStderr {

  private static final int STDERR = 2;
  private static final int O_WRONLY = 1;
  private static final MethodHandle DUP;
  private static final MethodHandle DUP2;
  private static final MethodHandle OPEN;
  private static final MethodHandle CLOSE;

  /** "/dev/null" as a C string, for the process's lifetime (not this package's tensor Arena). */
  private static final MemorySegment DEV_NULL =
      java.lang.foreign.Arena.global().allocateFrom("/dev/null");

  static {
    MethodHandle[] handles = libcHandles();
    DUP = handles[0];
    DUP2 = handles[1];
    OPEN = handles[2];
    CLOSE = handles[3];
  }

  /** dup, dup2, open and close from libc; all null where they cannot be linked. */
  @SuppressWarnings("restricted") // core's plugin loader grants plugins native access
  private static MethodHandle[] libcHandles() {
    try {
      Linker linker = Linker.nativeLinker();
      SymbolLookup libc = linker.defaultLookup();
      return new MethodHandle[] {
        linker.downcallHandle(libc.find("dup").orElseThrow(), intFunction(JAVA_INT)),
        linker.downcallHandle(libc.find("dup2").orElseThrow(), intFunction(JAVA_INT, JAVA_INT)),
        linker.downcallHandle(
            libc.find("open").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT),
            Linker.Option.firstVariadicArg(2)),
        linker.downcallHandle(libc.find("close").orElseThrow(), intFunction(JAVA_INT))
      };
    } catch (RuntimeException | LinkageError e) {
      return new MethodHandle[4]; // not on this platform: run unsilenced
    }
  }

  private QuietStderr() {}

  private static FunctionDescriptor intFunction(MemoryLayout... args) {
    return FunctionDescriptor.of(JAVA_INT, args);
  }

  /** The action's result, computed while native stderr goes to /dev/null. */
  static synchronized <T> T call(Supplier<T> action) {
    int saved = -1;
    try {
      saved = silence();
      return action.get();
    } finally {
      restore(saved);
    }
  }

  /** Points fd 2 at /dev/null; returns a duplicate of the old fd 2, or -1 if that failed. */
  private static int silence() {
    if (DUP == null) {
      return -1;
    }
    try {
      int saved = (int) DUP.invokeExact(STDERR);
      if (saved < 0) {
        return -1;
      }
      int devNull = (int) OPEN.invokeExact(DEV_NULL, O_WRONLY);
      if (devNull < 0) {
        int _ = (int) CLOSE.invokeExact(saved);
        return -1;
      }
      int _ = (int) DUP2.invokeExact(devNull, STDERR);
      int _ = (int) CLOSE.invokeExact(devNull);
      return saved;
    } catch (Throwable e) {
      return -1;
    }
  }

  private static void restore(int saved) {
    if (saved < 0) {
      return;
    }
    try {
      int _ = (int) DUP2.invokeExact(saved, STDERR);
      int _ = (int) CLOSE.invokeExact(saved);
    } catch (Throwable e) {
      // stderr stays silenced: nothing more can be reported through it
    }
  }
}
