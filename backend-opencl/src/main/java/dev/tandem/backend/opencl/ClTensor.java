package dev.tandem.backend.opencl;

import dev.tandem.api.backend.DataType;
import dev.tandem.api.backend.DeviceTensor;

/**
 * A tensor of the OpenCL backend: a range of one of the kernel's arenas ({@link DataType#F32} in
 * the float arena, {@link DataType#I32} in the int arena), identified by its element offset.
 */
final class ClTensor implements DeviceTensor {

  private final DataType type;
  private final int offset;
  private final int length;
  private final int reserved; // elements taken from the arena (length rounded up)
  private boolean freed;
  private int rows = -1; // rows of a transposed weight copy, else -1

  ClTensor(DataType type, int offset, int length, int reserved) {
    this.type = type;
    this.offset = offset;
    this.length = length;
    this.reserved = reserved;
  }

  @Override
  public DataType dataType() {
    return type;
  }

  @Override
  public long length() {
    return length;
  }

  int offset() {
    return offset;
  }

  int reserved() {
    return reserved;
  }

  void shapeAs(int rows) {
    this.rows = rows;
  }

  int rows() {
    return rows;
  }

  void markFreed() {
    freed = true;
  }

  /** The tensor as this backend's own, live, of the expected type; else a clear error. */
  static ClTensor of(DeviceTensor tensor, DataType expected, String role) {
    if (tensor == null) {
      throw new NullPointerException("opencl: " + role + " is null");
    }
    if (!(tensor instanceof ClTensor t)) {
      throw new IllegalArgumentException(
          "opencl: "
              + role
              + " is a "
              + tensor.getClass().getName()
              + ", not a tensor of the opencl backend");
    }
    if (t.freed) {
      throw new IllegalStateException("opencl: " + role + " was freed");
    }
    if (t.type != expected) {
      throw new IllegalArgumentException(
          "opencl: " + role + " must be " + expected + " but is " + t.type);
    }
    return t;
  }

  /** Fails unless the tensor holds at least {@code needed} elements for its role and shape. */
  ClTensor need(long needed, String role, String shape) {
    if (needed > length) {
      throw new IllegalArgumentException(
          "opencl: "
              + role
              + " "
              + shape
              + " needs "
              + needed
              + " elements, the tensor has "
              + length);
    }
    return this;
  }

  @Override
  public String toString() {
    return "opencl " + type + " tensor[" + length + "] @" + offset;
  }
}
