package dev.tandem.core.model.t5;

import dev.tandem.api.backend.Activation;
import dev.tandem.core.checkpoint.CheckpointException;
import dev.tandem.core.checkpoint.ConfigJson;
import dev.tandem.core.model.layers.Activations;

/**
 * The config.json keys a T5 model needs, with HuggingFace's defaults and derivations.
 *
 * @param gatedFfn feed_forward_proj "gated-*" (T5 v1.1, Flan-T5, mT5)
 * @param activation the FFN activation; "gated-gelu" means gelu_new (tanh approximation), as in
 *     HuggingFace
 * @param scaleDecoderOutputs whether the LM head input is scaled by d_model^-0.5: the key of that
 *     name when present (transformers 5 writes it for T5), else tie_word_embeddings (older configs:
 *     T5 v1.0 ties and scales, v1.1 does neither); never for mT5, which transformers 5 does not
 *     scale whatever its config says (it writes tie_word_embeddings true and no such key)
 */
record T5Config(
    String source,
    int vocabSize,
    int dModel,
    int dKv,
    int dFf,
    int numHeads,
    int numLayers,
    int numDecoderLayers,
    int numBuckets,
    int maxDistance,
    float eps,
    boolean gatedFfn,
    Activation activation,
    boolean scaleDecoderOutputs,
    int decoderStartTokenId,
    int padTokenId,
    int[] eosTokenIds) {

  static T5Config from(ConfigJson json) {
    int numLayers = json.getInt("num_layers");
    String feedForward = json.getString("feed_forward_proj", "relu");
    String[] parts = feedForward.split("-");
    boolean gated = parts.length == 2 && parts[0].equals("gated");
    if (parts.length > 2 || (parts.length == 2 && !gated)) {
      throw new CheckpointException(
          json.source()
              + ": feed_forward_proj '"
              + feedForward
              + "' must be 'ACT' or 'gated-ACT', e.g. 'relu' or 'gated-gelu'");
    }
    String activationName = feedForward.equals("gated-gelu") ? "gelu_new" : parts[parts.length - 1];
    int padTokenId = json.getInt("pad_token_id", 0);
    return new T5Config(
        json.source(),
        json.getInt("vocab_size"),
        json.getInt("d_model"),
        json.getInt("d_kv"),
        json.getInt("d_ff"),
        json.getInt("num_heads"),
        numLayers,
        json.getInt("num_decoder_layers", numLayers),
        json.getInt("relative_attention_num_buckets", 32),
        json.getInt("relative_attention_max_distance", 128),
        (float) json.getDouble("layer_norm_epsilon", 1e-6),
        gated,
        Activations.fromHuggingFace(activationName, json.source() + " feed_forward_proj"),
        json.optBoolean("scale_decoder_outputs")
            .orElseGet(
                () ->
                    !json.modelType().equals("mt5")
                        && json.getBoolean("tie_word_embeddings", true)),
        json.getInt("decoder_start_token_id", padTokenId),
        padTokenId,
        json.optIntArray("eos_token_id").orElse(new int[] {1}));
  }

  /** Query/key/value width: num_heads * d_kv, which need not equal d_model. */
  int attentionDim() {
    return numHeads * dKv;
  }
}
