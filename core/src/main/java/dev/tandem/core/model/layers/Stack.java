package dev.tandem.core.model.layers;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.backend.DeviceTensor;
import java.util.List;

/**
 * An encoder or a decoder: embeddings, the layers' sublayers in order, and the optional final norm
 * (T5's final_layer_norm, mBART's layer_norm).
 */
public record Stack(Embedder embedder, List<Sublayer> sublayers, Norm finalNorm, int dModel) {

  public Stack {
    requireNonNull(embedder, "embedder is null");
    sublayers = List.copyOf(requireNonNull(sublayers, "sublayers is null"));
  }

  /** hidden(n, dModel) = the stack over the tokens already written to ids and positions. */
  void run(StepContext ctx, DeviceTensor ids, DeviceTensor positions, int n, DeviceTensor hidden) {
    embedder.apply(ctx.backend(), ids, positions, n, ctx.workspace().blockOut, hidden);
    // A pre-norm sublayer's residual add and the norm that follows it (the next pre-norm sublayer's
    // or the final one) are one backend call: one pass and launch fewer per sublayer.
    boolean normedReady = false;
    boolean finalNormDone = false;
    for (int i = 0; i < sublayers.size(); i++) {
      Sublayer sublayer = sublayers.get(i);
      boolean last = i + 1 == sublayers.size();
      Sublayer next = last ? null : sublayers.get(i + 1);
      Norm nextNorm = last ? finalNorm : next.preNorm() ? next.norm() : null;
      boolean fusesFinal = last && finalNorm != null && sublayer.preNorm();
      normedReady =
          sublayer.apply(
              ctx, hidden, n, dModel, normedReady, sublayer.preNorm() ? nextNorm : null, last);
      finalNormDone = finalNormDone || fusesFinal;
    }
    if (finalNorm != null && !finalNormDone) {
      finalNorm.apply(ctx.backend(), hidden, n, hidden);
    }
  }
}
