package dev.tandem.backend.opencl;

import dev.tandem.api.backend.KvCacheSpec;
import java.lang.management.ManagementFactory;

/**
 * What the device and the heap have left for a KV cache. The KV pools are mirrored in Java arrays
 * on the heap, where the swap pool lives too. A CPU device's buffers are copies in the same RAM as
 * the heap: they get at most what the heap's maximum leaves of the machine's memory, and at most
 * the device's own global memory size (PoCL reports less than the RAM on some machines: 4.1 of 23
 * GiB on one).
 */
final class DeviceMemory {

  /** Share of the heap kept free when reporting allocatable memory (host mirrors live there). */
  private static final double HEAP_HEADROOM = 0.1;

  private final DeviceOps ops;
  private final DeviceKernel k;

  DeviceMemory(DeviceOps ops) {
    this.ops = ops;
    this.k = ops.kernel();
  }

  /** Bytes a KV cache may take beside a host swap pool of swapBytes. */
  long freeBesideSwap(long swapBytes) {
    long deviceUsed =
        Float.BYTES * ((long) k.mem.length + k.ints.length + k.kPool.length + k.vPool.length);
    long deviceFree = ops.device().getGlobalMemSize() - deviceUsed;
    if (ops.cpuDevice()) {
      long ram =
          ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
              .getTotalMemorySize();
      deviceFree = Math.min(deviceFree, ram - Runtime.getRuntime().maxMemory() - deviceUsed);
    }
    long poolLimit = 2 * ops.maxBufferFloats() * Float.BYTES; // K and V: one buffer each
    Runtime rt = Runtime.getRuntime();
    long hostFree =
        rt.maxMemory()
            - (rt.totalMemory() - rt.freeMemory())
            - (long) (rt.maxMemory() * HEAP_HEADROOM)
            - swapBytes;
    return Math.max(0, Math.min(deviceFree, Math.min(poolLimit, hostFree)));
  }

  /**
   * Throws, saying what to change, unless the cache fits beside the pools it replaces. The heap's
   * estimate counts unreachable objects (a closed engine's pools, say) as used: they are collected
   * once before refusing.
   */
  void checkKvCacheFits(KvCacheSpec spec) {
    long needed = (long) (spec.numBlocks() + spec.numSwapBlocks()) * spec.bytesPerBlock();
    if (needed > free()) {
      System.gc();
      long free = free();
      if (needed > free) {
        throw new IllegalArgumentException(
            "opencl: KV cache "
                + spec
                + " needs "
                + needed
                + " bytes but about "
                + free
                + " are free (device memory, one buffer per K and V pool, and the JVM heap that"
                + " mirrors them); use fewer blocks or raise -Xmx");
      }
    }
  }

  /** Free bytes, counting the current pools, which a new cache replaces, as free. */
  private long free() {
    return freeBesideSwap(0) + Float.BYTES * ((long) k.kPool.length + k.vPool.length);
  }
}
