package dev.tandem.core.model.layers;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.DeviceTensor;

/**
 * logits = projection(hidden * inputScale) (+ the projection's bias: BART's final_logits_bias).
 *
 * @param inputScale d_model^-0.5 for T5 checkpoints that scale decoder outputs, else 1
 * @param projection (vocab, dModel) weight, bias (vocab) or null
 */
public record LmHead(float inputScale, Linear projection) {

  public LmHead {
    requireNonNull(projection, "projection is null");
  }

  public int vocabSize() {
    return projection.outDim();
  }

  /** logits(n, vocab) from hidden(n, dModel); hidden is scaled in place. */
  void apply(AttentionBackend backend, DeviceTensor hidden, int n, DeviceTensor logits) {
    if (inputScale != 1f) {
      backend.scale(hidden, inputScale, (long) n * projection.inDim(), hidden);
    }
    projection.apply(backend, hidden, n, logits);
  }
}
