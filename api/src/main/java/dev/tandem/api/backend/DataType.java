package dev.tandem.api.backend;

/** Element types of device tensors. Compute is float32; ids, positions and indexes are int32. */
public enum DataType {
  F32,
  I32;

  public int bytes() {
    return 4;
  }
}
