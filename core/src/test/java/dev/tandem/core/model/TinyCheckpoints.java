package dev.tandem.core.model;

import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.tandem.core.checkpoint.Checkpoint;
import dev.tandem.core.checkpoint.SafetensorsWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Predicate;

/**
 * Tiny random HuggingFace-format checkpoints (config.json + model.safetensors) of the families
 * without fixtures, with HuggingFace's weight names and shapes. Dimensions are deliberately uneven
 * (attention width ≠ d_model, decoder layers ≠ encoder layers, odd d_model for Marian's sinusoids)
 * so that a confused dimension fails to load or to match.
 */
final class TinyCheckpoints {

  static final int VOCAB = 60;

  private final Random random = new Random(20261126);
  private final SafetensorsWriter writer = new SafetensorsWriter().metadata("format", "pt");
  private final Map<String, Object> config = new LinkedHashMap<>();
  private Predicate<String> keep = name -> true;
  private final Map<String, long[]> reshaped = new LinkedHashMap<>();

  private TinyCheckpoints() {}

  /** T5 v1.1 / Flan-T5: gated FFN, untied lm_head, 2 encoder and 3 decoder layers. */
  static TinyCheckpoints flanT5(String feedForwardProj) {
    TinyCheckpoints c = new TinyCheckpoints();
    c.config.putAll(
        Map.ofEntries(
            Map.entry("architectures", List.of("T5ForConditionalGeneration")),
            Map.entry("model_type", "t5"),
            Map.entry("vocab_size", VOCAB),
            Map.entry("d_model", 32),
            Map.entry("d_kv", 8),
            Map.entry("num_heads", 3),
            Map.entry("d_ff", 40),
            Map.entry("num_layers", 2),
            Map.entry("num_decoder_layers", 3),
            Map.entry("feed_forward_proj", feedForwardProj),
            Map.entry("relative_attention_num_buckets", 8),
            Map.entry("relative_attention_max_distance", 20),
            Map.entry("layer_norm_epsilon", 1e-6),
            Map.entry("tie_word_embeddings", false),
            Map.entry("decoder_start_token_id", 0),
            Map.entry("pad_token_id", 0),
            Map.entry("eos_token_id", 1)));
    return c;
  }

  /** mBART: pre-norm, final encoder/decoder layer_norm, scaled embeddings, 4 vs 2 heads. */
  static TinyCheckpoints mbart() {
    return bartFamily("MBartForConditionalGeneration", "mbart", 32, 4, 2, "gelu")
        .with("decoder_start_token_id", 2);
  }

  /** Marian: sinusoidal positions (computed, not stored), swish, odd d_model 35. */
  static TinyCheckpoints marian() {
    return bartFamily("MarianMTModel", "marian", 35, 5, 5, "swish")
        .with("decoder_start_token_id", VOCAB - 1)
        .with("pad_token_id", VOCAB - 1)
        .with("eos_token_id", 0)
        .with("share_encoder_decoder_embeddings", true);
  }

  private static TinyCheckpoints bartFamily(
      String architecture,
      String modelType,
      int dModel,
      int encoderHeads,
      int decoderHeads,
      String activation) {
    TinyCheckpoints c = new TinyCheckpoints();
    c.config.putAll(
        Map.ofEntries(
            Map.entry("architectures", List.of(architecture)),
            Map.entry("model_type", modelType),
            Map.entry("vocab_size", VOCAB),
            Map.entry("d_model", dModel),
            Map.entry("encoder_layers", 2),
            Map.entry("decoder_layers", 2),
            Map.entry("encoder_attention_heads", encoderHeads),
            Map.entry("decoder_attention_heads", decoderHeads),
            Map.entry("encoder_ffn_dim", 40),
            Map.entry("decoder_ffn_dim", 48),
            Map.entry("max_position_embeddings", 64),
            Map.entry("scale_embedding", true),
            Map.entry("activation_function", activation),
            Map.entry("bos_token_id", 0),
            Map.entry("pad_token_id", 1),
            Map.entry("eos_token_id", 2)));
    return c;
  }

  /** Sets (or replaces) a config.json key. */
  TinyCheckpoints with(String key, Object value) {
    config.put(key, value);
    return this;
  }

  /** Leaves the named tensor out of the file. */
  TinyCheckpoints without(String tensor) {
    keep = keep.and(name -> !name.equals(tensor));
    return this;
  }

  /** Stores the named tensor with another shape (random values). */
  TinyCheckpoints reshaped(String tensor, long... shape) {
    reshaped.put(tensor, shape);
    return this;
  }

  /** Writes config.json and model.safetensors into {@code dir} and returns it. */
  Path write(Path dir) {
    if (config.get("model_type").equals("t5")) {
      writeT5();
    } else {
      writeBartFamily();
    }
    writer.write(dir.resolve(Checkpoint.WEIGHTS_FILE));
    try {
      JsonMapper.builder().build().writeValue(dir.resolve(Checkpoint.CONFIG_FILE).toFile(), config);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return dir;
  }

  private int intKey(String key) {
    return (Integer) config.get(key);
  }

  private void writeT5() {
    int d = intKey("d_model");
    int inner = intKey("num_heads") * intKey("d_kv");
    int ff = intKey("d_ff");
    boolean gated = config.get("feed_forward_proj").toString().startsWith("gated-");
    random("shared.weight", 1f, VOCAB, d);
    random("lm_head.weight", scale(d), VOCAB, d);
    for (String stack : List.of("encoder", "decoder")) {
      int layers = intKey(stack.equals("encoder") ? "num_layers" : "num_decoder_layers");
      for (int i = 0; i < layers; i++) {
        String block = stack + ".block." + i + ".layer.";
        List<String> attentions =
            stack.equals("encoder")
                ? List.of("0.SelfAttention")
                : List.of("0.SelfAttention", "1.EncDecAttention");
        for (String attention : attentions) {
          String p = block + attention + ".";
          random(p + "q.weight", scale(d), inner, d);
          random(p + "k.weight", scale(d), inner, d);
          random(p + "v.weight", scale(d), inner, d);
          random(p + "o.weight", scale(inner), d, inner);
          norm(block + attention.charAt(0) + ".layer_norm.weight", d);
        }
        if (i == 0) {
          random(
              block + "0.SelfAttention.relative_attention_bias.weight",
              1f,
              intKey("relative_attention_num_buckets"),
              intKey("num_heads"));
        }
        String ffn = block + attentions.size() + ".";
        if (gated) {
          random(ffn + "DenseReluDense.wi_0.weight", scale(d), ff, d);
          random(ffn + "DenseReluDense.wi_1.weight", scale(d), ff, d);
        } else {
          random(ffn + "DenseReluDense.wi.weight", scale(d), ff, d);
        }
        random(ffn + "DenseReluDense.wo.weight", scale(ff), d, ff);
        norm(ffn + "layer_norm.weight", d);
      }
      norm(stack + ".final_layer_norm.weight", d);
    }
  }

  private void writeBartFamily() {
    int d = intKey("d_model");
    boolean marian = config.get("model_type").equals("marian");
    boolean mbart = config.get("model_type").equals("mbart");
    if (Boolean.FALSE.equals(config.get("share_encoder_decoder_embeddings"))) {
      // Marian's separate vocabularies: no shared table, the head tied to the decoder's
      int decoderVocab = intKey("decoder_vocab_size");
      random("model.encoder.embed_tokens.weight", 1f, VOCAB, d);
      random("model.decoder.embed_tokens.weight", 1f, decoderVocab, d);
      random("final_logits_bias", 0.5f, 1, decoderVocab);
    } else {
      random("model.shared.weight", 1f, VOCAB, d);
      random("final_logits_bias", 0.5f, 1, VOCAB);
    }
    for (String stack : List.of("encoder", "decoder")) {
      String prefix = "model." + stack + ".";
      if (!marian) {
        random(prefix + "embed_positions.weight", 1f, intKey("max_position_embeddings") + 2, d);
        layerNorm(prefix + "layernorm_embedding", d);
      }
      int ffnDim = intKey(stack + "_ffn_dim");
      List<String> attentions =
          stack.equals("encoder") ? List.of("self_attn") : List.of("self_attn", "encoder_attn");
      for (int i = 0; i < intKey(stack + "_layers"); i++) {
        String layer = prefix + "layers." + i + ".";
        for (String attention : attentions) {
          for (String proj : List.of("q_proj", "k_proj", "v_proj", "out_proj")) {
            linear(layer + attention + "." + proj, d, d);
          }
          layerNorm(layer + attention + "_layer_norm", d);
        }
        linear(layer + "fc1", ffnDim, d);
        linear(layer + "fc2", d, ffnDim);
        layerNorm(layer + "final_layer_norm", d);
      }
      if (mbart) {
        layerNorm(prefix + "layer_norm", d);
      }
    }
  }

  /** Weights of std 1/sqrt(fanIn) keep activations near unit size through the layers. */
  private static float scale(int fanIn) {
    return (float) (1 / Math.sqrt(fanIn));
  }

  private void linear(String prefix, int out, int in) {
    random(prefix + ".weight", scale(in), out, in);
    random(prefix + ".bias", 0.1f, out);
  }

  private void layerNorm(String prefix, int dim) {
    norm(prefix + ".weight", dim);
    random(prefix + ".bias", 0.1f, dim);
  }

  /** A norm weight around 1. */
  private void norm(String name, int dim) {
    float[] values = new float[dim];
    for (int i = 0; i < dim; i++) {
      values[i] = 1 + 0.1f * (float) random.nextGaussian();
    }
    add(name, values, dim);
  }

  private void random(String name, float std, long... shape) {
    long[] actual = reshaped.getOrDefault(name, shape);
    long count = 1;
    for (long n : actual) {
      count *= n;
    }
    float[] values = new float[Math.toIntExact(count)];
    for (int i = 0; i < values.length; i++) {
      values[i] = std * (float) random.nextGaussian();
    }
    add(name, values, actual);
  }

  private void add(String name, float[] values, long... shape) {
    if (keep.test(name)) {
      writer.add(name, values, shape);
    }
  }
}
