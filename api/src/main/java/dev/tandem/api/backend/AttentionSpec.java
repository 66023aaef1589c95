package dev.tandem.api.backend;

/**
 * The static shape of one attention call.
 *
 * @param layer decoder layer index, selecting the layer's KV-cache pool (ignored for ENCODER)
 * @param numHeads attention heads; q, k, v and out rows hold numHeads * headDim values
 * @param headDim values per head
 * @param scale multiplies q·k before softmax (1 for T5, 1/sqrt(headDim) for BART)
 * @param bias T5 relative position bias, or null
 */
public record AttentionSpec(int layer, int numHeads, int headDim, float scale, PositionBias bias) {}
