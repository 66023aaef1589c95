package dev.tandem.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jcuda.driver.CUfunction;
import org.junit.jupiter.api.Test;

/**
 * What decides a CUDA graph replay ({@link KernelStream} with cuda.graphs): a recorded list equals
 * another only when a graph captured from one launches exactly the other. Runs without a GPU; the
 * replays themselves run in the GPU check's test pass with -Dtandem.cuda.graphs=true.
 */
class LaunchListTest {

  private final CUfunction gemv = new CUfunction();
  private final CUfunction norm = new CUfunction();
  private final KernelArgs args = new KernelArgs();

  /** A decode-step-like list: a GEMV and a norm over buffers at {@code base}, {@code rows} rows. */
  private LaunchList step(long base, int rows, float eps) {
    LaunchList list = new LaunchList();
    list.add(gemv, 16, 1, 1, 256, 0, args.reset().ptr(base).ptr(base + 4096).i32(rows).i32(512));
    list.add(norm, rows, 1, 1, 128, 64, args.reset().ptr(base + 4096).f32(eps).i64(512));
    return list;
  }

  @Test
  void equalListsHashAlikeAndCopiesStayEqual() {
    LaunchList a = step(1L << 20, 1, 1e-6f);
    LaunchList b = step(1L << 20, 1, 1e-6f);
    assertEquals(a, b);
    assertEquals(a.hashCode(), b.hashCode());
    LaunchList copy = a.copy();
    a.clear();
    assertTrue(a.isEmpty());
    assertEquals(b, copy, "a copy does not change when its source is cleared and reused");
    assertEquals(2, copy.size());
  }

  @Test
  void anyDifferenceInFunctionDimensionsOrParameterBytesMakesListsUnequal() {
    LaunchList reference = step(1L << 20, 1, 1e-6f);
    assertNotEquals(reference, step(1L << 21, 1, 1e-6f), "another buffer address");
    assertNotEquals(reference, step(1L << 20, 2, 1e-6f), "another row count (grid and parameter)");
    assertNotEquals(reference, step(1L << 20, 1, 1e-5f), "another float parameter");
    LaunchList otherFunction = new LaunchList();
    otherFunction.add(
        norm, 16, 1, 1, 256, 0, args.reset().ptr(1L << 20).ptr((1L << 20) + 4096).i32(1).i32(512));
    otherFunction.add(
        norm, 1, 1, 1, 128, 64, args.reset().ptr((1L << 20) + 4096).f32(1e-6f).i64(512));
    assertNotEquals(reference, otherFunction, "another function, same parameters");
    LaunchList otherShared = new LaunchList();
    otherShared.add(
        gemv, 16, 1, 1, 256, 0, args.reset().ptr(1L << 20).ptr((1L << 20) + 4096).i32(1).i32(512));
    otherShared.add(norm, 1, 1, 1, 128, 0, args.reset().ptr((1L << 20) + 4096).f32(1e-6f).i64(512));
    assertNotEquals(reference, otherShared, "another shared-memory size");
    LaunchList prefix = new LaunchList();
    prefix.add(
        gemv, 16, 1, 1, 256, 0, args.reset().ptr(1L << 20).ptr((1L << 20) + 4096).i32(1).i32(512));
    assertNotEquals(reference, prefix, "a prefix");
  }

  @Test
  void parameterSlotsAreCopiedAndReloadedExactly() {
    args.reset().ptr(0x1234_5678_9abcL).i32(-7).f32(0.5f).i64(1L << 40);
    byte[] slots = new byte[args.count() * 8 + 3];
    args.copySlots(slots, 3);
    KernelArgs reloaded = new KernelArgs().load(slots, 3, 4);
    assertEquals(4, reloaded.count());
    byte[] again = new byte[32];
    reloaded.copySlots(again, 0);
    assertEquals(
        java.util.Arrays.toString(java.util.Arrays.copyOfRange(slots, 3, 35)),
        java.util.Arrays.toString(again));
  }

  @Test
  void listsGrowPastTheirInitialCapacity() {
    LaunchList a = new LaunchList();
    LaunchList b = new LaunchList();
    for (int i = 0; i < 1000; i++) {
      a.add(gemv, i, 1, 1, 32, 0, args.reset().ptr(i).i32(i).i32(i).i32(i).i32(i).i32(i));
      b.add(gemv, i, 1, 1, 32, 0, args.reset().ptr(i).i32(i).i32(i).i32(i).i32(i).i32(i));
    }
    assertEquals(1000, a.size());
    assertEquals(a, b);
    b.add(gemv, 0, 1, 1, 32, 0, args.reset());
    assertNotEquals(a, b);
  }
}
