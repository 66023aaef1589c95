package dev.tandem.core.checkpoint;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The element types a safetensors file may declare. Only the floating-point ones can be read as
 * float32 (see {@link #isFloat()}); the others are recognised so that their tensors can still be
 * listed and skipped.
 */
public enum DType {
  BOOL(1, false),
  U8(1, false),
  I8(1, false),
  F8_E4M3(1, false),
  F8_E5M2(1, false),
  I16(2, false),
  U16(2, false),
  F16(2, true),
  BF16(2, true),
  I32(4, false),
  U32(4, false),
  F32(4, true),
  F64(8, true),
  I64(8, false),
  U64(8, false);

  private final int byteSize;
  private final boolean isFloat;

  DType(int byteSize, boolean isFloat) {
    this.byteSize = byteSize;
    this.isFloat = isFloat;
  }

  /** Bytes per element. */
  public int byteSize() {
    return byteSize;
  }

  /** Whether {@link Checkpoint#floats} can convert this type to float32. */
  public boolean isFloat() {
    return isFloat;
  }

  /** The names of the types {@link Checkpoint#floats} can convert, for error messages. */
  public static String floatTypeNames() {
    return Arrays.stream(values())
        .filter(DType::isFloat)
        .map(Enum::name)
        .collect(Collectors.joining(", "));
  }

  /**
   * The type of a safetensors {@code dtype} string.
   *
   * @throws IllegalArgumentException naming the known types when {@code name} is not one
   */
  public static DType fromSafetensors(String name) {
    for (DType type : values()) {
      if (type.name().equals(name)) {
        return type;
      }
    }
    throw new IllegalArgumentException(
        "unknown dtype '" + name + "'; safetensors dtypes are " + Arrays.toString(values()));
  }
}
