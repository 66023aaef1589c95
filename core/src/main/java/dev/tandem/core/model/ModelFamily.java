package dev.tandem.core.model;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.core.checkpoint.Checkpoint;
import java.util.Set;

/** Builds the models of one family (T5, BART) from HuggingFace checkpoints. */
public interface ModelFamily {

  /** Lower-case family name, e.g. "t5". */
  String name();

  /** The HuggingFace architecture class names this family loads. */
  Set<String> architectures();

  /**
   * Uploads the checkpoint's weights to the backend and allocates the activation buffers.
   *
   * @throws dev.tandem.core.checkpoint.CheckpointException naming the key or tensor when the
   *     checkpoint does not fit the family
   */
  EncoderDecoderModel load(Checkpoint checkpoint, AttentionBackend backend, ModelLimits limits);
}
