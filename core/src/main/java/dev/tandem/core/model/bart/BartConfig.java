package dev.tandem.core.model.bart;

import dev.tandem.api.backend.Activation;
import dev.tandem.core.checkpoint.ConfigJson;
import dev.tandem.core.model.layers.Activations;

/**
 * The config.json keys a BART-family model needs, with HuggingFace's defaults.
 *
 * @param decoderVocabSize Marian's decoder_vocab_size (defaults to vocab_size): the LM head's rows
 * @param sharedEmbeddings Marian's share_encoder_decoder_embeddings; always true for BART/mBART
 */
record BartConfig(
    String source,
    int vocabSize,
    int decoderVocabSize,
    int dModel,
    int encoderLayers,
    int decoderLayers,
    int encoderHeads,
    int decoderHeads,
    int encoderFfnDim,
    int decoderFfnDim,
    int maxPositions,
    boolean scaleEmbedding,
    boolean sharedEmbeddings,
    Activation activation,
    int decoderStartTokenId,
    int padTokenId,
    int[] eosTokenIds) {

  /** nn.LayerNorm's default, which every BART-family layer norm uses. */
  static final float LAYER_NORM_EPS = 1e-5f;

  static BartConfig from(ConfigJson json) {
    int vocab = json.getInt("vocab_size");
    int padTokenId = json.getInt("pad_token_id", 1);
    int[] eosTokenIds = json.optIntArray("eos_token_id").orElse(new int[] {2});
    return new BartConfig(
        json.source(),
        vocab,
        json.getInt("decoder_vocab_size", vocab),
        json.getInt("d_model"),
        json.getInt("encoder_layers"),
        json.getInt("decoder_layers"),
        json.getInt("encoder_attention_heads"),
        json.getInt("decoder_attention_heads"),
        json.getInt("encoder_ffn_dim"),
        json.getInt("decoder_ffn_dim"),
        json.getInt("max_position_embeddings"),
        json.getBoolean("scale_embedding", false),
        json.getBoolean("share_encoder_decoder_embeddings", true),
        Activations.fromHuggingFace(
            json.getString("activation_function", "gelu"), json.source() + " activation_function"),
        json.getInt("decoder_start_token_id", eosTokenIds.length > 0 ? eosTokenIds[0] : 2),
        padTokenId,
        eosTokenIds);
  }

  /** Token embeddings are multiplied by this: sqrt(d_model) when scale_embedding. */
  float embedScale() {
    return scaleEmbedding ? (float) Math.sqrt(dModel) : 1f;
  }
}
