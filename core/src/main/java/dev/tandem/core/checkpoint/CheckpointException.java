package dev.tandem.core.checkpoint;

/**
 * A checkpoint that cannot be used as it is: a missing or malformed file, a missing tensor, a shape
 * or dtype the caller cannot accept. The message names the file or tensor and what is wrong.
 */
public final class CheckpointException extends RuntimeException {
  public CheckpointException(String message) {
    super(message);
  }

  public CheckpointException(String message, Throwable cause) {
    super(message, cause);
  }
}
