package dev.tandem.backend.cuda;

import dev.tandem.api.backend.DataType;
import dev.tandem.api.backend.DeviceTensor;
import jcuda.driver.CUdeviceptr;

/** A buffer in device memory, owned by the {@link CudaBackend} that allocated it. */
final class CudaTensor implements DeviceTensor {

  private final CudaBackend owner;
  private final DataType dataType;
  private final long length;
  private DevicePointer pointer;

  CudaTensor(CudaBackend owner, DataType dataType, long length, DevicePointer pointer) {
    this.owner = owner;
    this.dataType = dataType;
    this.length = length;
    this.pointer = pointer;
  }

  @Override
  public DataType dataType() {
    return dataType;
  }

  @Override
  public long length() {
    return length;
  }

  CudaBackend owner() {
    return owner;
  }

  /** The device allocation; fails once the tensor is freed. */
  DevicePointer pointer() {
    if (pointer == null) {
      throw new IllegalStateException("CUDA tensor of " + length + " values used after free");
    }
    return pointer;
  }

  /** The address of element {@code index}. */
  CUdeviceptr pointer(long index) {
    return pointer().withByteOffset(index * dataType.bytes());
  }

  /** The device address of element 0, for kernel arguments. */
  long address() {
    return pointer().address();
  }

  boolean isFreed() {
    return pointer == null;
  }

  /** Marks the tensor freed and returns the address to release. */
  CUdeviceptr release() {
    CUdeviceptr p = pointer();
    pointer = null;
    return p;
  }

  @Override
  public String toString() {
    return "CudaTensor[" + dataType + " x " + length + (pointer == null ? ", freed]" : "]");
  }
}
