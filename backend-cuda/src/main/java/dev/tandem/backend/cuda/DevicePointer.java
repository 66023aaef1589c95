package dev.tandem.backend.cuda;

import jcuda.driver.CUdeviceptr;

/**
 * A device allocation whose address Java can read, so kernel arguments can be packed as plain
 * 64-bit values (see {@link KernelArgs}). Pass a new instance to cuMemAlloc.
 */
final class DevicePointer extends CUdeviceptr {

  /** The device address, or 0 before allocation. */
  long address() {
    return getNativePointer() + getByteOffset();
  }
}
