package dev.tandem.backend.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import jcuda.Pointer;

/**
 * A kernel's parameter list, in the order of its C signature, packed into one reused direct buffer:
 * one 8-byte slot per parameter (ints and floats use the slot's first 4 bytes, little endian). The
 * driver copies the values during cuLaunchKernel, so the buffer is reused at once, and a launch
 * allocates nothing; JCuda only resolves direct-buffer addresses, never pins arrays. One instance
 * per backend (backends are used by one thread at a time).
 */
final class KernelArgs {

  private static final int MAX_ARGS = 24;
  private static final int SLOT = 8;

  private final ByteBuffer values =
      ByteBuffer.allocateDirect(MAX_ARGS * SLOT).order(ByteOrder.nativeOrder());

  /** paramsByCount[n]: the void*[n] array pointing at the first n slots. */
  private final Pointer[] paramsByCount = new Pointer[MAX_ARGS + 1];

  private int count;

  KernelArgs() {
    Pointer base = Pointer.to(values);
    Pointer[] slots = new Pointer[MAX_ARGS];
    for (int i = 0; i < MAX_ARGS; i++) {
      slots[i] = base.withByteOffset((long) i * SLOT);
    }
    for (int n = 0; n <= MAX_ARGS; n++) {
      paramsByCount[n] = Pointer.to(Arrays.copyOf(slots, n));
    }
  }

  /** Starts a new parameter list. */
  KernelArgs reset() {
    count = 0;
    return this;
  }

  private int next() {
    if (count == MAX_ARGS) {
      throw new IllegalStateException("more than " + MAX_ARGS + " kernel parameters");
    }
    values.putLong(count * SLOT, 0L);
    return count++ * SLOT;
  }

  /** A device address; 0 is a C null pointer. */
  KernelArgs ptr(long address) {
    values.putLong(next(), address);
    return this;
  }

  /** A tensor's device address, or a C null pointer for null. */
  KernelArgs ptr(CudaTensor tensor) {
    return ptr(tensor != null ? tensor.address() : 0L);
  }

  KernelArgs i32(int value) {
    values.putInt(next(), value);
    return this;
  }

  KernelArgs i64(long value) {
    values.putLong(next(), value);
    return this;
  }

  KernelArgs f32(float value) {
    values.putFloat(next(), value);
    return this;
  }

  /** The kernelParams array for cuLaunchKernel. */
  Pointer pointer() {
    return paramsByCount[count];
  }

  /** The number of parameters in the list. */
  int count() {
    return count;
  }

  /** The list's {@link #count()} 8-byte slots, copied to {@code dst[at...]}. */
  void copySlots(byte[] dst, int at) {
    values.get(0, dst, at, count * SLOT);
  }

  /**
   * Replaces the list with {@code count} slots copied by {@link #copySlots} to {@code src[at...]}.
   */
  KernelArgs load(byte[] src, int at, int count) {
    if (count > MAX_ARGS) {
      throw new IllegalArgumentException("more than " + MAX_ARGS + " kernel parameters");
    }
    values.put(0, src, at, count * SLOT);
    this.count = count;
    return this;
  }
}
