package dev.tandem.core.checkpoint;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * What a safetensors header says about one tensor.
 *
 * @param name the tensor's name, e.g. {@code encoder.block.0.layer.0.SelfAttention.q.weight}
 * @param dtype its element type as stored
 * @param shape its dimensions, outermost first (a scalar has none)
 * @param file the .safetensors file that holds it
 */
public record TensorInfo(String name, DType dtype, long[] shape, Path file) {
  public TensorInfo {
    requireNonNull(name, "name is null");
    requireNonNull(dtype, "dtype is null");
    requireNonNull(file, "file is null");
    shape = shape.clone();
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** The product of the dimensions (1 for a scalar). */
  public long elementCount() {
    long count = 1;
    for (long dim : shape) {
      count = Math.multiplyExact(count, dim);
    }
    return count;
  }

  /** The stored size in bytes. */
  public long byteSize() {
    return Math.multiplyExact(elementCount(), dtype.byteSize());
  }

  /** Whether the shape equals {@code expected} element for element. */
  public boolean hasShape(long... expected) {
    return Arrays.equals(shape, expected);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorInfo other
        && name.equals(other.name)
        && dtype == other.dtype
        && Arrays.equals(shape, other.shape)
        && file.equals(other.file);
  }

  @Override
  public int hashCode() {
    return (name.hashCode() * 31 + dtype.hashCode()) * 31 + Arrays.hashCode(shape);
  }

  @Override
  public String toString() {
    return name + " " + dtype + Arrays.toString(shape) + " in " + file.getFileName();
  }
}
