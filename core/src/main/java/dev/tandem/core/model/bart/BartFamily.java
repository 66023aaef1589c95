package dev.tandem.core.model.bart;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionSpec;
import dev.tandem.api.backend.AttentionType;
import dev.tandem.api.backend.DeviceTensor;
import dev.tandem.core.checkpoint.Checkpoint;
import dev.tandem.core.checkpoint.ConfigJson;
import dev.tandem.core.model.EncoderDecoderModel;
import dev.tandem.core.model.ModelFamily;
import dev.tandem.core.model.ModelLimits;
import dev.tandem.core.model.ModelSpec;
import dev.tandem.core.model.layers.AttentionBlock;
import dev.tandem.core.model.layers.Embedder;
import dev.tandem.core.model.layers.FeedForward;
import dev.tandem.core.model.layers.Linear;
import dev.tandem.core.model.layers.LmHead;
import dev.tandem.core.model.layers.Norm;
import dev.tandem.core.model.layers.Seq2SeqTransformer;
import dev.tandem.core.model.layers.Stack;
import dev.tandem.core.model.layers.Sublayer;
import dev.tandem.core.model.layers.WeightLoader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * BART, mBART and Marian, following HuggingFace's modeling code: biased linears, nn.LayerNorm (eps
 * 1e-5), attention scaled by headDim^-0.5, absolute positions added to the (optionally
 * sqrt(d_model)-scaled) token embeddings, and an LM head tied to the shared embeddings plus
 * final_logits_bias. {@link BartVariant} holds the differences.
 */
public final class BartFamily implements ModelFamily {

  private static final Map<String, BartVariant> VARIANTS =
      Map.of(
          "BartForConditionalGeneration", BartVariant.BART,
          "MBartForConditionalGeneration", BartVariant.MBART,
          "MarianMTModel", BartVariant.MARIAN);

  @Override
  public String name() {
    return "bart";
  }

  @Override
  public Set<String> architectures() {
    return VARIANTS.keySet();
  }

  @Override
  public EncoderDecoderModel load(
      Checkpoint checkpoint, AttentionBackend backend, ModelLimits limits) {
    ConfigJson json = checkpoint.config();
    BartVariant variant = VARIANTS.get(json.architecture());
    if (variant == null) {
      throw new IllegalArgumentException(
          "BART family does not load " + json.architecture() + "; it loads " + VARIANTS.keySet());
    }
    BartConfig config = BartConfig.from(json);
    try (WeightLoader weights = new WeightLoader(checkpoint, backend, config.source())) {
      int d = config.dModel();
      // Marian with share_encoder_decoder_embeddings=false has no shared table: each stack has
      // its own, and the decoder's vocabulary may differ.
      String encoderName =
          config.sharedEmbeddings()
              ? weights.firstPresent("model.shared.weight", "model.encoder.embed_tokens.weight")
              : "model.encoder.embed_tokens.weight";
      String decoderName =
          config.sharedEmbeddings()
              ? weights.firstPresent("model.shared.weight", "model.decoder.embed_tokens.weight")
              : "model.decoder.embed_tokens.weight";
      DeviceTensor encoderTable = weights.tensor(encoderName, config.vocabSize(), d);
      int decoderVocab = config.sharedEmbeddings() ? config.vocabSize() : config.decoderVocabSize();
      DeviceTensor decoderTable = weights.tensor(decoderName, decoderVocab, d);

      Stack encoder =
          stack(weights, config, variant, "model.encoder", encoderTable, config.encoderLayers());
      Stack decoder =
          stack(weights, config, variant, "model.decoder", decoderTable, config.decoderLayers());

      String headName = weights.has("lm_head.weight") ? "lm_head.weight" : decoderName;
      DeviceTensor finalLogitsBias =
          weights.has("final_logits_bias")
              ? weights.tensor("final_logits_bias", 1, decoderVocab)
              : null; // a zero buffer in HuggingFace when absent
      LmHead lmHead =
          new LmHead(
              1f,
              new Linear(
                  weights.tensor(headName, decoderVocab, d), finalLogitsBias, d, decoderVocab));
      int headDim = d / config.decoderHeads();
      ModelSpec spec =
          new ModelSpec(
              json.architecture(),
              decoderVocab,
              d,
              config.decoderLayers(),
              config.decoderHeads(),
              headDim,
              OptionalInt.of(config.maxPositions()),
              config.decoderStartTokenId(),
              config.padTokenId(),
              Arrays.stream(config.eosTokenIds()).boxed().toList());
      return new Seq2SeqTransformer(
          spec,
          limits,
          encoder,
          decoder,
          lmHead,
          weights,
          d,
          Math.max(config.encoderFfnDim(), config.decoderFfnDim()),
          false);
    }
  }

  private static Stack stack(
      WeightLoader weights,
      BartConfig config,
      BartVariant variant,
      String prefix,
      DeviceTensor tokenTable,
      int numLayers) {
    int d = config.dModel();
    Norm embeddingNorm =
        variant.layernormEmbedding
            ? weights.layerNorm(prefix + ".layernorm_embedding", d, BartConfig.LAYER_NORM_EPS)
            : null;
    Embedder embedder =
        new Embedder(
            tokenTable,
            d,
            config.embedScale(),
            positionTable(weights, config, variant, prefix),
            embeddingNorm);
    boolean isDecoder = prefix.endsWith("decoder");
    List<Sublayer> sublayers = new ArrayList<>();
    for (int i = 0; i < numLayers; i++) {
      String layer = prefix + ".layers." + i + ".";
      if (isDecoder) {
        sublayers.add(
            attention(weights, config, variant, layer, "self_attn", AttentionType.DECODER, i));
        sublayers.add(
            attention(
                weights, config, variant, layer, "encoder_attn", AttentionType.ENCODER_DECODER, i));
      } else {
        sublayers.add(
            attention(weights, config, variant, layer, "self_attn", AttentionType.ENCODER, i));
      }
      int ffnDim = isDecoder ? config.decoderFfnDim() : config.encoderFfnDim();
      FeedForward ffn =
          new FeedForward.Dense(
              weights.linear(layer + "fc1", d, ffnDim, true),
              config.activation(),
              weights.linear(layer + "fc2", ffnDim, d, true));
      sublayers.add(
          new Sublayer(
              ffn,
              weights.layerNorm(layer + "final_layer_norm", d, BartConfig.LAYER_NORM_EPS),
              variant.preNorm));
    }
    Norm finalNorm =
        variant.finalNorms
            ? weights.layerNorm(prefix + ".layer_norm", d, BartConfig.LAYER_NORM_EPS)
            : null;
    return new Stack(embedder, sublayers, finalNorm, d);
  }

  /**
   * (maxPositions, dModel) with row p for position p: the learned table without HuggingFace's
   * offset rows, or Marian's sinusoids (stored, or computed when the checkpoint omits them).
   */
  private static DeviceTensor positionTable(
      WeightLoader weights, BartConfig config, BartVariant variant, String prefix) {
    int d = config.dModel();
    int rows = config.maxPositions();
    String name = prefix + ".embed_positions.weight";
    if (variant.sinusoidalPositions) {
      return weights.has(name)
          ? weights.tensor(name, rows, d)
          : weights.upload(MarianSinusoids.table(rows, d));
    }
    int offset = variant.positionOffset;
    float[] table = weights.floats(name, rows + offset, d);
    return weights.upload(Arrays.copyOfRange(table, offset * d, table.length));
  }

  private static Sublayer attention(
      WeightLoader weights,
      BartConfig config,
      BartVariant variant,
      String layer,
      String module,
      AttentionType type,
      int layerIndex) {
    int d = config.dModel();
    int heads = type == AttentionType.ENCODER ? config.encoderHeads() : config.decoderHeads();
    int headDim = d / heads;
    AttentionSpec spec =
        new AttentionSpec(layerIndex, heads, headDim, (float) Math.pow(headDim, -0.5), null);
    String prefix = layer + module + ".";
    AttentionBlock block =
        new AttentionBlock(
            type,
            spec,
            weights.linear(prefix + "q_proj", d, d, true),
            weights.linear(prefix + "k_proj", d, d, true),
            weights.linear(prefix + "v_proj", d, d, true),
            weights.linear(prefix + "out_proj", d, d, true));
    Norm norm = weights.layerNorm(layer + module + "_layer_norm", d, BartConfig.LAYER_NORM_EPS);
    return new Sublayer(block, norm, variant.preNorm);
  }
}
