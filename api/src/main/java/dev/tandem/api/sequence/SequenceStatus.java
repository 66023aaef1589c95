package dev.tandem.api.sequence;

/** Where a sequence is in its life; the finished states say why it ended. */
public enum SequenceStatus {
  WAITING,
  RUNNING,
  SWAPPED,
  FINISHED_STOPPED,
  FINISHED_LENGTH_CAPPED,
  FINISHED_ABORTED,
  FINISHED_IGNORED;

  public boolean isFinished() {
    return ordinal() >= FINISHED_STOPPED.ordinal();
  }
}
