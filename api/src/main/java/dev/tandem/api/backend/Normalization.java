package dev.tandem.api.backend;

/** The per-row normalizations of {@link AttentionBackend#normalize}. */
public enum Normalization {
  /** T5's LayerNorm: x / sqrt(mean(x²) + eps) * weight; no bias. */
  RMS,
  /** nn.LayerNorm: (x − mean) / sqrt(var + eps) * weight + bias. */
  LAYER
}
