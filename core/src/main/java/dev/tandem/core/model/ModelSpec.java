package dev.tandem.core.model;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.OptionalInt;

/**
 * What the runner, the KV cache and the engine need to know about a loaded model.
 *
 * @param architecture HuggingFace architecture class name, e.g. {@code T5ForConditionalGeneration}
 * @param vocabSize rows of the LM head: the width of a logits row
 * @param dModel hidden size
 * @param numDecoderLayers decoder layers: one K and one V cache pool each
 * @param numHeads attention heads (the KV cache's heads)
 * @param headDim values per head (the KV cache's head dimension)
 * @param maxPositions longest encoder or decoder sequence the position embeddings cover, or empty
 *     when positions are relative (T5)
 * @param decoderStartTokenId first decoder token, from config.json
 * @param padTokenId padding token, from config.json
 * @param eosTokenIds end-of-sequence tokens, from config.json
 */
public record ModelSpec(
    String architecture,
    int vocabSize,
    int dModel,
    int numDecoderLayers,
    int numHeads,
    int headDim,
    OptionalInt maxPositions,
    int decoderStartTokenId,
    int padTokenId,
    List<Integer> eosTokenIds) {

  public ModelSpec {
    requireNonNull(architecture, "architecture is null");
    requireNonNull(maxPositions, "maxPositions is null");
    eosTokenIds = List.copyOf(requireNonNull(eosTokenIds, "eosTokenIds is null"));
  }
}
