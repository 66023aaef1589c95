package dev.tandem.backend.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.Consumer;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

/**
 * Host → device copies in order on the backend's stream. A copy of up to a quarter of {@link
 * #BYTES} goes through a pinned staging buffer asynchronously; the buffer is recycled at each
 * {@link #synchronize()}, which a full buffer also forces. Larger copies (weights) are synchronous
 * copies straight from the Java array. The caller makes the backend's context current first.
 */
final class StagedCopies implements AutoCloseable {

  static final int BYTES = 16 << 20;
  private static final int ALIGN = 256;

  private final KernelStream stream;
  private final Pointer staging = new Pointer();
  private final ByteBuffer buffer;
  private long used;

  StagedCopies(KernelStream stream) {
    this.stream = stream;
    JCudaDriver.cuMemAllocHost(staging, BYTES);
    buffer = staging.getByteBuffer(0, BYTES).order(ByteOrder.nativeOrder());
  }

  void floats(CUdeviceptr target, float[] src, int srcOffset, int length) {
    copy(
        target,
        (long) length * Float.BYTES,
        b -> b.asFloatBuffer().put(src, srcOffset, length),
        Pointer.to(src).withByteOffset((long) srcOffset * Float.BYTES));
  }

  void ints(CUdeviceptr target, int[] src, int srcOffset, int length) {
    copy(
        target,
        (long) length * Integer.BYTES,
        b -> b.asIntBuffer().put(src, srcOffset, length),
        Pointer.to(src).withByteOffset((long) srcOffset * Integer.BYTES));
  }

  void doubles(CUdeviceptr target, double[] src, int srcOffset, int length) {
    copy(
        target,
        (long) length * Double.BYTES,
        b -> b.asDoubleBuffer().put(src, srcOffset, length),
        Pointer.to(src).withByteOffset((long) srcOffset * Double.BYTES));
  }

  /**
   * Copies {@code bytes}: {@code fill} writes them into the staging buffer for an asynchronous
   * copy, or, when they are too many for it, they go synchronously from {@code direct}.
   */
  private void copy(CUdeviceptr target, long bytes, Consumer<ByteBuffer> fill, Pointer direct) {
    long at = reserve(bytes);
    if (at >= 0) {
      fill.accept(slice(at, bytes));
      JCudaDriver.cuMemcpyHtoDAsync(target, staging.withByteOffset(at), bytes, stream.ordered());
    } else {
      stream.ordered(); // the legacy stream's copy waits for what is in the stream
      JCudaDriver.cuMemcpyHtoD(target, direct, bytes);
    }
  }

  /** Waits for everything queued on the stream; the staging buffer is free again. */
  void synchronize() {
    stream.synchronize();
    used = 0;
  }

  private ByteBuffer slice(long at, long bytes) {
    return buffer.slice((int) at, (int) bytes).order(ByteOrder.nativeOrder());
  }

  /**
   * Space in the staging buffer for an asynchronous copy, or -1 when the copy is too large for it.
   * When the buffer is full, waits for the stream so that earlier copies out of it are done.
   */
  private long reserve(long bytes) {
    if (bytes > BYTES / 4) {
      return -1;
    }
    if (used + bytes > BYTES) {
      synchronize();
    }
    long at = used;
    used = (at + bytes + ALIGN - 1) / ALIGN * ALIGN;
    return at;
  }

  @Override
  public void close() {
    JCudaDriver.cuMemFreeHost(staging);
  }
}
