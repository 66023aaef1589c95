package dev.tandem.core.checkpoint;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** Conversions between the stored floating-point dtypes and float32. */
final class FloatConversion {
  private FloatConversion() {}

  /**
   * Reads {@code bytes}, the stored data of {@code info}, as float32.
   *
   * @throws CheckpointException when the dtype is not a floating-point one, or the tensor has more
   *     elements than a Java array can hold
   */
  static float[] toFloats(TensorInfo info, MemorySegment bytes) {
    if (!info.dtype().isFloat()) {
      throw new CheckpointException(
          "tensor '"
              + info.name()
              + "' in "
              + info.file()
              + " has dtype "
              + info.dtype()
              + ", which cannot be read as floats; supported dtypes: "
              + DType.floatTypeNames());
    }
    long count = info.elementCount();
    if (count > Integer.MAX_VALUE - 8) {
      throw new CheckpointException(
          "tensor '"
              + info.name()
              + "' "
              + Arrays.toString(info.shape())
              + " has "
              + count
              + " elements, more than one float[] can hold; read it with bytes() in slices");
    }
    int n = (int) count;
    float[] out = new float[n];
    switch (info.dtype()) {
      case F32 -> MemorySegment.copy(bytes, SafetensorsFile.F32_LE, 0, out, 0, n);
      case F16 -> {
        short[] halves = new short[n];
        MemorySegment.copy(bytes, SafetensorsFile.I16_LE, 0, halves, 0, n);
        for (int i = 0; i < n; i++) {
          out[i] = Float.float16ToFloat(halves[i]);
        }
      }
      case BF16 -> {
        short[] halves = new short[n];
        MemorySegment.copy(bytes, SafetensorsFile.I16_LE, 0, halves, 0, n);
        for (int i = 0; i < n; i++) {
          out[i] = bf16ToFloat(halves[i]);
        }
      }
      case F64 -> {
        for (int i = 0; i < n; i++) {
          out[i] = (float) bytes.getAtIndex(SafetensorsFile.F64_LE, i);
        }
      }
      default -> throw new AssertionError("isFloat() and this switch disagree: " + info.dtype());
    }
    return out;
  }

  /** bfloat16 is the upper half of a float32. */
  static float bf16ToFloat(short bits) {
    return Float.intBitsToFloat(bits << 16);
  }

  /** Rounds to the nearest bfloat16 (ties to even), keeping NaN a NaN. */
  static short floatToBf16(float value) {
    int bits = Float.floatToRawIntBits(value);
    if (Float.isNaN(value)) {
      return (short) ((bits >>> 16) | 0x0040); // quiet NaN, sign kept
    }
    int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
    return (short) ((bits + roundingBias) >>> 16);
  }
}
