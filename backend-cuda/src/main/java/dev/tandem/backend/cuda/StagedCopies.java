package dev.tandem.backend.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
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

  private final CUstream stream;
  private final Pointer staging = new Pointer();
  private final ByteBuffer buffer;
  private long used;

  StagedCopies(CUstream stream) {
    this.stream = stream;
    JCudaDriver.cuMemAllocHost(staging, BYTES);
    buffer = staging.getByteBuffer(0, BYTES).order(ByteOrder.nativeOrder());
  }

  void floats(CUdeviceptr target, float[] src, int srcOffset, int length) {
    long bytes = (long) length * Float.BYTES;
    long at = reserve(bytes);
    if (at >= 0) {
      slice(at, bytes).asFloatBuffer().put(src, srcOffset, length);
      JCudaDriver.cuMemcpyHtoDAsync(target, staging.withByteOffset(at), bytes, stream);
    } else {
      JCudaDriver.cuMemcpyHtoD(
          target, Pointer.to(src).withByteOffset((long) srcOffset * Float.BYTES), bytes);
    }
  }

  void ints(CUdeviceptr target, int[] src, int srcOffset, int length) {
    long bytes = (long) length * Integer.BYTES;
    long at = reserve(bytes);
    if (at >= 0) {
      slice(at, bytes).asIntBuffer().put(src, srcOffset, length);
      JCudaDriver.cuMemcpyHtoDAsync(target, staging.withByteOffset(at), bytes, stream);
    } else {
      JCudaDriver.cuMemcpyHtoD(
          target, Pointer.to(src).withByteOffset((long) srcOffset * Integer.BYTES), bytes);
    }
  }

  /** Waits for everything queued on the stream; the staging buffer is free again. */
  void synchronize() {
    JCudaDriver.cuStreamSynchronize(stream);
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
