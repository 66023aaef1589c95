package dev.tandem.backend.cuda;

import jcuda.driver.JCudaDriver;

/**
 * A device buffer reused across steps that grows (doubling) when a step needs more, so per-step
 * inputs never cost an allocation in the steady state.
 */
final class DeviceBuffer implements AutoCloseable {

  private final DevicePointer pointer = new DevicePointer();
  private long capacity;

  /** The buffer, at least {@code bytes} long; waits for the stream before replacing it. */
  DevicePointer ensure(long bytes, KernelStream stream) {
    if (bytes > capacity) {
      if (capacity > 0) {
        stream.synchronize(); // kernels may still read the old buffer
        JCudaDriver.cuMemFree(pointer);
      }
      capacity = Math.max(bytes, 2 * capacity);
      JCudaDriver.cuMemAlloc(pointer, capacity);
    }
    return pointer;
  }

  @Override
  public void close() {
    if (capacity > 0) {
      JCudaDriver.cuMemFree(pointer);
      capacity = 0;
    }
  }
}
