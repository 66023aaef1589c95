package dev.tandem.backend.cuda;

import java.util.Arrays;
import jcuda.driver.CUfunction;
import jcuda.driver.CUstream;

/**
 * Kernel launches recorded in order — function, launch dimensions, parameter bytes — so that they
 * can be launched later, captured into a CUDA graph, and compared: two lists are equal when they
 * launch the same functions (by identity) with the same dimensions and the same parameter bytes,
 * i.e. when one graph replays both exactly.
 */
final class LaunchList {

  /** Per launch: grid x, y, z, block threads, shared bytes, parameter count. */
  private static final int DIMS = 6;

  private static final int SLOT = 8; // KernelArgs' bytes per parameter

  private CUfunction[] functions = new CUfunction[128];
  private int[] dims = new int[128 * DIMS]; // (launch, DIMS)
  private byte[] params = new byte[128 * 12 * SLOT]; // every launch's slots, back to back
  private int size;
  private int paramBytes;

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }

  void clear() {
    size = 0;
    paramBytes = 0;
  }

  /** Appends a launch of {@code function} with the parameters now in {@code args}. */
  void add(
      CUfunction function,
      int gridX,
      int gridY,
      int gridZ,
      int blockThreads,
      int sharedBytes,
      KernelArgs args) {
    if (size == functions.length) {
      functions = Arrays.copyOf(functions, 2 * size);
      dims = Arrays.copyOf(dims, 2 * size * DIMS);
    }
    int bytes = args.count() * SLOT;
    if (paramBytes + bytes > params.length) {
      params = Arrays.copyOf(params, Math.max(2 * params.length, paramBytes + bytes));
    }
    functions[size] = function;
    int d = size * DIMS;
    dims[d] = gridX;
    dims[d + 1] = gridY;
    dims[d + 2] = gridZ;
    dims[d + 3] = blockThreads;
    dims[d + 4] = sharedBytes;
    dims[d + 5] = args.count();
    args.copySlots(params, paramBytes);
    paramBytes += bytes;
    size++;
  }

  /** Launches every recorded kernel in order on {@code stream}, parameters through {@code args}. */
  void launchAll(CUstream stream, KernelArgs args) {
    int at = 0;
    for (int i = 0; i < size; i++) {
      int d = i * DIMS;
      int count = dims[d + 5];
      CudaKernels.launch(
          functions[i],
          dims[d],
          dims[d + 1],
          dims[d + 2],
          dims[d + 3],
          dims[d + 4],
          stream,
          args.load(params, at, count));
      at += count * SLOT;
    }
  }

  /** An independent copy, trimmed to size (a map key must not change). */
  LaunchList copy() {
    LaunchList copy = new LaunchList();
    copy.functions = Arrays.copyOf(functions, size);
    copy.dims = Arrays.copyOf(dims, size * DIMS);
    copy.params = Arrays.copyOf(params, paramBytes);
    copy.size = size;
    copy.paramBytes = paramBytes;
    return copy;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof LaunchList other) || size != other.size || paramBytes != other.paramBytes) {
      return false;
    }
    for (int i = 0; i < size; i++) {
      if (functions[i] != other.functions[i]) {
        return false;
      }
    }
    return Arrays.equals(dims, 0, size * DIMS, other.dims, 0, size * DIMS)
        && Arrays.equals(params, 0, paramBytes, other.params, 0, paramBytes);
  }

  @Override
  public int hashCode() {
    int hash = size;
    for (int i = 0; i < size; i++) {
      hash = 31 * hash + System.identityHashCode(functions[i]);
    }
    for (int i = 0; i < size * DIMS; i++) {
      hash = 31 * hash + dims[i];
    }
    for (int i = 0; i < paramBytes; i++) {
      hash = 31 * hash + params[i];
    }
    return hash;
  }
}
