package dev.tandem.core.model.t5;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionSpec;
import dev.tandem.api.backend.AttentionType;
import dev.tandem.api.backend.DeviceTensor;
import dev.tandem.api.backend.PositionBias;
import dev.tandem.core.checkpoint.Checkpoint;
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
import java.util.OptionalInt;
import java.util.Set;

/**
 * T5 v1.0, T5 v1.1, Flan-T5 and mT5, following HuggingFace's modeling_t5.py: pre-norm blocks with
 * T5's RMS LayerNorm, unscaled attention (scale 1), a relative position bias computed from each
 * stack's first-layer table and shared by all its layers (bidirectional in the encoder, causal in
 * decoder self-attention, none in cross-attention), and no bias in any linear.
 */
public final class T5Family implements ModelFamily {

  private static final boolean PRE_NORM = true;

  @Override
  public String name() {
    return "t5";
  }

  @Override
  public Set<String> architectures() {
    return Set.of("T5ForConditionalGeneration", "MT5ForConditionalGeneration");
  }

  @Override
  public EncoderDecoderModel load(
      Checkpoint checkpoint, AttentionBackend backend, ModelLimits limits) {
    T5Config config = T5Config.from(checkpoint.config());
    try (WeightLoader weights = new WeightLoader(checkpoint, backend, config.source())) {
      int d = config.dModel();
      int vocab = config.vocabSize();
      DeviceTensor encoderTable =
          weights.tensor(
              weights.firstPresent("shared.weight", "encoder.embed_tokens.weight"), vocab, d);
      DeviceTensor decoderTable =
          weights.tensor(
              weights.firstPresent("shared.weight", "decoder.embed_tokens.weight"), vocab, d);
      Stack encoder =
          new Stack(
              new Embedder(encoderTable, d, 1f, null, null),
              encoderSublayers(weights, config),
              weights.rmsNorm("encoder.final_layer_norm.weight", d, config.eps()),
              d);
      Stack decoder =
          new Stack(
              new Embedder(decoderTable, d, 1f, null, null),
              decoderSublayers(weights, config),
              weights.rmsNorm("decoder.final_layer_norm.weight", d, config.eps()),
              d);
      // Untied checkpoints (v1.1, Flan-T5) store lm_head.weight; tied ones reuse shared.weight.
      String headName = weights.firstPresent("lm_head.weight", "shared.weight");
      float headScale = config.scaleDecoderOutputs() ? (float) Math.pow(d, -0.5) : 1f;
      LmHead lmHead =
          new LmHead(headScale, new Linear(weights.tensor(headName, vocab, d), null, d, vocab));
      ModelSpec spec =
          new ModelSpec(
              checkpoint.config().architecture(),
              vocab,
              d,
              config.numDecoderLayers(),
              config.numHeads(),
              config.dKv(),
              OptionalInt.empty(),
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
          config.attentionDim(),
          config.dFf(),
          config.gatedFfn());
    }
  }

  private static List<Sublayer> encoderSublayers(WeightLoader weights, T5Config config) {
    PositionBias bias = positionBias(weights, config, "encoder", true);
    List<Sublayer> sublayers = new ArrayList<>();
    for (int i = 0; i < config.numLayers(); i++) {
      String block = "encoder.block." + i + ".layer.";
      AttentionSpec spec = new AttentionSpec(i, config.numHeads(), config.dKv(), 1f, bias);
      sublayers.add(
          attention(weights, config, block + "0.", "SelfAttention", AttentionType.ENCODER, spec));
      sublayers.add(feedForward(weights, config, block + "1."));
    }
    return sublayers;
  }

  private static List<Sublayer> decoderSublayers(WeightLoader weights, T5Config config) {
    PositionBias bias = positionBias(weights, config, "decoder", false);
    List<Sublayer> sublayers = new ArrayList<>();
    for (int i = 0; i < config.numDecoderLayers(); i++) {
      String block = "decoder.block." + i + ".layer.";
      AttentionSpec self = new AttentionSpec(i, config.numHeads(), config.dKv(), 1f, bias);
      AttentionSpec cross = new AttentionSpec(i, config.numHeads(), config.dKv(), 1f, null);
      sublayers.add(
          attention(weights, config, block + "0.", "SelfAttention", AttentionType.DECODER, self));
      sublayers.add(
          attention(
              weights,
              config,
              block + "1.",
              "EncDecAttention",
              AttentionType.ENCODER_DECODER,
              cross));
      sublayers.add(feedForward(weights, config, block + "2."));
    }
    return sublayers;
  }

  /** The stack's first layer's relative_attention_bias table (numBuckets, numHeads). */
  private static PositionBias positionBias(
      WeightLoader weights, T5Config config, String stack, boolean bidirectional) {
    DeviceTensor table =
        weights.tensor(
            stack + ".block.0.layer.0.SelfAttention.relative_attention_bias.weight",
            config.numBuckets(),
            config.numHeads());
    return new PositionBias(table, config.numBuckets(), config.maxDistance(), bidirectional);
  }

  private static Sublayer attention(
      WeightLoader weights,
      T5Config config,
      String layer,
      String module,
      AttentionType type,
      AttentionSpec spec) {
    int d = config.dModel();
    int inner = config.attentionDim();
    String prefix = layer + module + ".";
    AttentionBlock block =
        new AttentionBlock(
            type,
            spec,
            weights.linear(prefix + "q", d, inner, false),
            weights.linear(prefix + "k", d, inner, false),
            weights.linear(prefix + "v", d, inner, false),
            weights.linear(prefix + "o", inner, d, false));
    return new Sublayer(block, layerNorm(weights, config, layer), PRE_NORM);
  }

  private static Sublayer feedForward(WeightLoader weights, T5Config config, String layer) {
    int d = config.dModel();
    int ff = config.dFf();
    String prefix = layer + "DenseReluDense.";
    Linear out = weights.linear(prefix + "wo", ff, d, false);
    FeedForward block =
        config.gatedFfn()
            ? new FeedForward.Gated(
                weights.linear(prefix + "wi_0", d, ff, false),
                weights.linear(prefix + "wi_1", d, ff, false),
                config.activation(),
                out)
            : new FeedForward.Dense(
                weights.linear(prefix + "wi", d, ff, false), config.activation(), out);
    return new Sublayer(block, layerNorm(weights, config, layer), PRE_NORM);
  }

  private static Norm layerNorm(WeightLoader weights, T5Config config, String layer) {
    return weights.rmsNorm(layer + "layer_norm.weight", config.dModel(), config.eps());
  }
}
