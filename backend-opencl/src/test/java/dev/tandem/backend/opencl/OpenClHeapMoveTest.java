package dev.tandem.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.DataType;
import dev.tandem.api.backend.DeviceTensor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The GC moves the backend's small arrays between launches (the 1-element placeholders a new
 * backend starts with, the staging arrays) and may uncommit the region they left. When Aparapi made
 * buffers with CL_MEM_USE_HOST_PTR, PoCL kept the old address as the buffer's memory and the first
 * arena growth ({@code get} of the placeholder) copied from it: SIGSEGV (SEGV_ACCERR) in a PoCL
 * worker thread. A regression kills the test JVM.
 */
class OpenClHeapMoveTest {

  private static volatile Object sink;

  @Test
  void arenasGrowAfterTheGcMovedThePlaceholders() throws InterruptedException {
    for (int round = 0; round < 3; round++) {
      // A grown heap, so the new backend's arrays land in high regions...
      List<byte[]> held = new ArrayList<>();
      for (int i = 0; i < 128; i++) {
        held.add(new byte[1 << 20]);
      }
      sink = held;
      try (AttentionBackend backend = Backends.opencl()) {
        // ...that the full collection empties (it compacts downwards) as it shrinks the heap; G1
        // uncommits the regions it gave up concurrently, shortly after.
        held = null;
        sink = null;
        System.gc();
        Thread.sleep(200);
        DeviceTensor floats = backend.upload(new float[] {1, 2, 3}); // grows the float arena
        DeviceTensor ints = backend.allocate(DataType.I32, 3); // grows the int arena
        backend.write(ints, 0, new int[] {4, 5, 6}, 0, 3);
        float[] f = new float[3];
        int[] n = new int[3];
        backend.read(floats, 0, f, 0, 3);
        backend.read(ints, 0, n, 0, 3);
        assertArrayEquals(new float[] {1, 2, 3}, f, "round " + round);
        assertArrayEquals(new int[] {4, 5, 6}, n, "round " + round);
      }
    }
  }
}
