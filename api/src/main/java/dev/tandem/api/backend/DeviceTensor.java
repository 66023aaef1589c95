package dev.tandem.api.backend;

/**
 * A flat buffer in a backend's device memory, created and owned by that backend. Opaque to the
 * model code, which only passes it back to the backend's operations; matrices in it are row-major.
 */
public interface DeviceTensor {

  DataType dataType();

  /** Capacity in elements. */
  long length();
}
