package dev.tandem.core.model.layers;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.DeviceTensor;

/**
 * The input of a stack: hidden = tokenTable[id] * scale (+ positionTable[position]), then the
 * optional embedding norm (BART's and mBART's layernorm_embedding).
 *
 * @param tokenTable (vocab, dModel)
 * @param scale sqrt(dModel) when the family scales embeddings, else 1
 * @param positionTable (maxPositions, dModel), row p for position p (any HuggingFace offset already
 *     removed), or null for T5, whose positions act inside attention
 * @param norm the embedding norm, or null
 */
public record Embedder(
    DeviceTensor tokenTable, int dModel, float scale, DeviceTensor positionTable, Norm norm) {

  public Embedder {
    requireNonNull(tokenTable, "tokenTable is null");
  }

  public boolean usesPositions() {
    return positionTable != null;
  }

  /** hidden(n, dModel) from ids(n) and positions(n), both I32 on the device. */
  void apply(
      AttentionBackend backend,
      DeviceTensor ids,
      DeviceTensor positions,
      int n,
      DeviceTensor scratch,
      DeviceTensor hidden) {
    backend.embedding(ids, n, tokenTable, dModel, scale, hidden);
    if (positionTable != null) {
      backend.embedding(positions, n, positionTable, dModel, 1f, scratch);
      backend.add(hidden, scratch, (long) n * dModel, hidden);
    }
    if (norm != null) {
      norm.apply(backend, hidden, n, hidden);
    }
  }
}
