package dev.tandem.backend.cuda;

import java.util.ArrayList;
import java.util.List;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;

/** A kernel's parameter list, in the order of its C signature. */
final class KernelArgs {

  private static final CUdeviceptr NULL = new CUdeviceptr();

  private final List<NativePointerObject> values = new ArrayList<>(20);

  static KernelArgs of() {
    return new KernelArgs();
  }

  /** A device pointer; null passes a C null pointer. */
  KernelArgs ptr(CUdeviceptr pointer) {
    values.add(Pointer.to(pointer != null ? pointer : NULL));
    return this;
  }

  /** A tensor's device address, or a C null pointer for null. */
  KernelArgs ptr(CudaTensor tensor) {
    return ptr(tensor != null ? tensor.pointer() : null);
  }

  /** A C null pointer (an absent optional input such as a bias). */
  KernelArgs nullPtr() {
    return ptr((CUdeviceptr) null);
  }

  KernelArgs i32(int value) {
    values.add(Pointer.to(new int[] {value}));
    return this;
  }

  KernelArgs i64(long value) {
    values.add(Pointer.to(new long[] {value}));
    return this;
  }

  KernelArgs f32(float value) {
    values.add(Pointer.to(new float[] {value}));
    return this;
  }

  Pointer pointer() {
    return Pointer.to(values.toArray(NativePointerObject[]::new));
  }
}
