package dev.tandem.core.model.bart;

/**
 * How BART, mBART and Marian differ, per HuggingFace's modeling_bart.py, modeling_mbart.py and
 * modeling_marian.py.
 *
 * @param preNorm mBART normalizes before each block; BART and Marian after the residual add
 * @param layernormEmbedding layernorm_embedding after token + position embeddings (not Marian)
 * @param finalNorms encoder and decoder layer_norm after the last layer (mBART)
 * @param positionOffset rows HuggingFace skips in the learned position table (2), 0 for Marian
 * @param sinusoidalPositions Marian's fixed sinusoids instead of a learned table
 */
enum BartVariant {
  BART(false, true, false, 2, false),
  MBART(true, true, true, 2, false),
  MARIAN(false, false, false, 0, true);

  final boolean preNorm;
  final boolean layernormEmbedding;
  final boolean finalNorms;
  final int positionOffset;
  final boolean sinusoidalPositions;

  BartVariant(
      boolean preNorm,
      boolean layernormEmbedding,
      boolean finalNorms,
      int positionOffset,
      boolean sinusoidalPositions) {
    this.preNorm = preNorm;
    this.layernormEmbedding = layernormEmbedding;
    this.finalNorms = finalNorms;
    this.positionOffset = positionOffset;
    this.sinusoidalPositions = sinusoidalPositions;
  }
}
