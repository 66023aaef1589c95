package dev.tandem.backend.opencl;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Optional;

/**
 * Whether this JVM keeps the device-resident arrays ({@link DeviceOps#MIN_RESIDENT} elements or
 * more) in place. G1 never moves humongous objects, those of at least half a heap region. Another
 * collector moves them, and so does G1 with regions over 32 MiB; Aparapi then recreates the device
 * buffer from the stale host array, and the device loses weights or KV cache in silence (seen on
 * PoCL with -XX:+UseParallelGC: logits off by 3 to 27 in core's parity tests).
 */
final class HeapPlacement {

  /** The largest G1 region in which a MIN_RESIDENT array of 4-byte elements is humongous. */
  private static final long MAX_REGION_BYTES = 2L * DeviceOps.MIN_RESIDENT * Float.BYTES;

  private HeapPlacement() {}

  /** Why the device-resident arrays could move in this JVM, and what to change; empty if not. */
  static Optional<String> problem() {
    List<String> collectors =
        ManagementFactory.getGarbageCollectorMXBeans().stream()
            .map(GarbageCollectorMXBean::getName)
            .toList();
    if (collectors.stream().noneMatch(name -> name.startsWith("G1"))) {
      return Optional.of(
          "the JVM runs the garbage collector(s) "
              + collectors
              + ", which move the arrays the opencl backend keeps on the device; run Java with"
              + " -XX:+UseG1GC (its default on machines with 2 or more CPUs and 2 GiB)");
    }
    long region =
        Long.parseLong(
            ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
                .getVMOption("G1HeapRegionSize")
                .getValue());
    if (region > MAX_REGION_BYTES) {
      return Optional.of(
          "G1's heap regions are "
              + (region >> 20)
              + " MiB, so it moves the arrays the opencl backend keeps on the device; run Java"
              + " with -XX:G1HeapRegionSize=32m or less");
    }
    return Optional.empty();
  }
}
