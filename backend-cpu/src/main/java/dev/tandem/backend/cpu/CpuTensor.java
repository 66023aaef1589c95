package dev.tandem.backend.cpu;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.backend.DataType;
import dev.tandem.api.backend.DeviceTensor;

/** A tensor in host memory: a float[] (F32) or an int[] (I32). */
final class CpuTensor implements DeviceTensor {

  /** The largest array the JVM reliably allocates (a few header words below Integer.MAX_VALUE). */
  static final long MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;

  private final DataType type;
  private float[] floats;
  private int[] ints;

  private CpuTensor(DataType type, float[] floats, int[] ints) {
    this.type = type;
    this.floats = floats;
    this.ints = ints;
  }

  static CpuTensor allocate(DataType type, long length) {
    requireNonNull(type, "type is null");
    if (length < 0 || length > MAX_ARRAY_LENGTH) {
      throw new IllegalArgumentException(
          "cpu: tensor length "
              + length
              + " is out of range: a CPU tensor holds 0.."
              + MAX_ARRAY_LENGTH
              + " elements (one Java array)");
    }
    return switch (type) {
      case F32 -> new CpuTensor(type, new float[(int) length], null);
      case I32 -> new CpuTensor(type, null, new int[(int) length]);
    };
  }

  static CpuTensor wrap(float[] data) {
    return new CpuTensor(DataType.F32, requireNonNull(data, "data is null"), null);
  }

  /** The float[] behind an F32 tensor of this backend, checking type and liveness. */
  static float[] floats(DeviceTensor tensor, String role) {
    CpuTensor t = live(tensor, role);
    if (t.type != DataType.F32) {
      throw new IllegalArgumentException("cpu: " + role + " must be F32, got " + t.type);
    }
    return t.floats;
  }

  /** The int[] behind an I32 tensor of this backend, checking type and liveness. */
  static int[] ints(DeviceTensor tensor, String role) {
    CpuTensor t = live(tensor, role);
    if (t.type != DataType.I32) {
      throw new IllegalArgumentException("cpu: " + role + " must be I32, got " + t.type);
    }
    return t.ints;
  }

  /** The cpu tensor behind {@code tensor}, checking that it is one and not freed. */
  static CpuTensor live(DeviceTensor tensor, String role) {
    if (tensor == null) {
      throw new NullPointerException(role + " is null"); // not requireNonNull: no message per call
    }
    if (!(tensor instanceof CpuTensor t)) {
      throw new IllegalArgumentException(
          "cpu: " + role + " is a " + tensor.getClass().getName() + ", not a cpu tensor");
    }
    if (t.floats == null && t.ints == null) {
      throw new IllegalStateException("cpu: " + role + " was freed");
    }
    return t;
  }

  void release() {
    floats = null;
    ints = null;
  }

  @Override
  public DataType dataType() {
    return type;
  }

  @Override
  public long length() {
    if (floats != null) {
      return floats.length;
    }
    return ints == null ? 0 : ints.length;
  }
}
