package dev.tandem.api.backend;

/** Which attention a layer performs, as in vLLM; it tells the backend which metadata to use. */
public enum AttentionType {
  /**
   * Decoder self-attention: the new tokens' K/V are written into the layer's paged cache
   * (slotMapping), then each query attends causally over its sequence's cached tokens.
   */
  DECODER,
  /** Encoder self-attention: bidirectional, over packed variable-length sequences, no cache. */
  ENCODER,
  /**
   * Cross-attention: at prefill the K/V computed from the encoder output are written into the cross
   * blocks (crossSlotMapping) and the decoder queries attend over their group's encoder tokens; at
   * decode no K/V are given and the queries read the cross block tables.
   */
  ENCODER_DECODER
}
