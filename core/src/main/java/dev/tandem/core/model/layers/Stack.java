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
    for (Sublayer sublayer : sublayers) {
      sublayer.apply(ctx, hidden, n, dModel);
    }
    if (finalNorm != null) {
      finalNorm.apply(ctx.backend(), hidden, n, hidden);
    }
  }
}
