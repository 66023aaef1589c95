package dev.tandem.core.bench;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.core.checkpoint.DType;
import dev.tandem.core.checkpoint.SafetensorsWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Writes a HuggingFace-format checkpoint with random weights in a preset's shape — {@code
 * config.json}, {@code generation_config.json}, {@code model.safetensors} (float32) and a
 * word-level {@code tokenizer.json} ("t&lt;id&gt;" per id) — so that benchmarks load it through the
 * normal loader. Written once per preset under a cache directory and reused.
 */
public final class RandomCheckpoint {

  private static final System.Logger LOG = System.getLogger(RandomCheckpoint.class.getName());
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String COMPLETE_MARKER = ".complete";

  private RandomCheckpoint() {}

  /** The default cache: {@code $java.io.tmpdir/tandem-bench}. */
  public static Path defaultCache() {
    return Path.of(System.getProperty("java.io.tmpdir"), "tandem-bench");
  }

  /** The preset's checkpoint directory under {@code cache}, written first if it is missing. */
  public static Path ensure(ModelPreset preset, Path cache) {
    requireNonNull(preset, "preset is null");
    Path dir = cache.resolve(preset.label());
    if (Files.exists(dir.resolve(COMPLETE_MARKER))) {
      return dir;
    }
    try {
      Files.createDirectories(dir);
      LOG.log(System.Logger.Level.INFO, "writing random {0} weights to {1}", preset.label(), dir);
      write(preset, dir);
      Files.writeString(dir.resolve(COMPLETE_MARKER), "");
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot write the " + preset.label() + " checkpoint to " + dir, e);
    }
  }

  /** Writes the checkpoint files into {@code dir}. */
  public static void write(ModelPreset preset, Path dir) throws IOException {
    JSON.writerWithDefaultPrettyPrinter()
        .writeValue(dir.resolve("config.json").toFile(), config(preset));
    ObjectNode generation = JSON.createObjectNode();
    generation.put("decoder_start_token_id", preset.isT5() ? 0 : 2);
    generation.put("eos_token_id", preset.isT5() ? 1 : 2);
    generation.put("pad_token_id", preset.isT5() ? 0 : 1);
    JSON.writeValue(dir.resolve("generation_config.json").toFile(), generation);
    writeTokenizer(preset, dir.resolve("tokenizer.json"));
    SafetensorsWriter weights = new SafetensorsWriter().metadata("format", "pt");
    if (preset.isT5()) {
      t5Weights(preset, weights);
    } else {
      bartWeights(preset, weights);
    }
    weights.write(dir.resolve("model.safetensors"));
  }

  private static ObjectNode config(ModelPreset p) {
    ObjectNode c = JSON.createObjectNode();
    c.put("vocab_size", p.vocabSize());
    c.put("d_model", p.dModel());
    c.put("is_encoder_decoder", true);
    if (p.isT5()) {
      c.putArray("architectures").add("T5ForConditionalGeneration");
      c.put("model_type", "t5");
      c.put("d_kv", p.headDim());
      c.put("d_ff", p.dFf());
      c.put("num_layers", p.encoderLayers());
      c.put("num_decoder_layers", p.decoderLayers());
      c.put("num_heads", p.numHeads());
      c.put("feed_forward_proj", p.gatedGelu() ? "gated-gelu" : "relu");
      c.put("dense_act_fn", p.gatedGelu() ? "gelu_new" : "relu");
      c.put("is_gated_act", p.gatedGelu());
      c.put("tie_word_embeddings", !p.gatedGelu());
      c.put("relative_attention_num_buckets", 32);
      c.put("relative_attention_max_distance", 128);
      c.put("layer_norm_epsilon", 1e-6);
      c.put("decoder_start_token_id", 0);
      c.put("eos_token_id", 1);
      c.put("pad_token_id", 0);
    } else {
      c.putArray("architectures").add("BartForConditionalGeneration");
      c.put("model_type", "bart");
      c.put("encoder_layers", p.encoderLayers());
      c.put("decoder_layers", p.decoderLayers());
      c.put("encoder_attention_heads", p.numHeads());
      c.put("decoder_attention_heads", p.numHeads());
      c.put("encoder_ffn_dim", p.dFf());
      c.put("decoder_ffn_dim", p.dFf());
      c.put("activation_function", "gelu");
      c.put("max_position_embeddings", p.maxPositions());
      c.put("scale_embedding", false);
      c.put("tie_word_embeddings", true);
      c.put("bos_token_id", 0);
      c.put("pad_token_id", 1);
      c.put("eos_token_id", 2);
      c.put("decoder_start_token_id", 2);
      c.put("forced_eos_token_id", 2);
    }
    return c;
  }

  private static void t5Weights(ModelPreset p, SafetensorsWriter w) {
    int d = p.dModel();
    int inner = p.numHeads() * p.headDim();
    long seed = 1;
    w.add("shared.weight", DType.F32, random(seed++, 1.0f), p.vocabSize(), d);
    for (String stack : new String[] {"encoder", "decoder"}) {
      boolean decoder = stack.equals("decoder");
      int layers = decoder ? p.decoderLayers() : p.encoderLayers();
      for (int i = 0; i < layers; i++) {
        String block = stack + ".block." + i + ".layer.";
        seed = attention(w, block + "0.SelfAttention.", d, inner, seed, "q", "k", "v", "o");
        if (i == 0) {
          w.add(
              block + "0.SelfAttention.relative_attention_bias.weight",
              DType.F32,
              random(seed++, 0.5f),
              32,
              p.numHeads());
        }
        w.add(block + "0.layer_norm.weight", DType.F32, constant(1), d);
        int ffn = 1;
        if (decoder) {
          seed = attention(w, block + "1.EncDecAttention.", d, inner, seed, "q", "k", "v", "o");
          w.add(block + "1.layer_norm.weight", DType.F32, constant(1), d);
          ffn = 2;
        }
        String dense = block + ffn + ".DenseReluDense.";
        float scale = (float) (1 / Math.sqrt(d));
        if (p.gatedGelu()) {
          w.add(dense + "wi_0.weight", DType.F32, random(seed++, scale), p.dFf(), d);
          w.add(dense + "wi_1.weight", DType.F32, random(seed++, scale), p.dFf(), d);
        } else {
          w.add(dense + "wi.weight", DType.F32, random(seed++, scale), p.dFf(), d);
        }
        w.add(
            dense + "wo.weight",
            DType.F32,
            random(seed++, (float) (1 / Math.sqrt(p.dFf()))),
            d,
            p.dFf());
        w.add(block + ffn + ".layer_norm.weight", DType.F32, constant(1), d);
      }
      w.add(stack + ".final_layer_norm.weight", DType.F32, constant(1), d);
    }
    if (p.gatedGelu()) {
      w.add(
          "lm_head.weight", DType.F32, random(seed, (float) (1 / Math.sqrt(d))), p.vocabSize(), d);
    }
  }

  private static void bartWeights(ModelPreset p, SafetensorsWriter w) {
    int d = p.dModel();
    long seed = 1;
    w.add("model.shared.weight", DType.F32, random(seed++, 0.05f), p.vocabSize(), d);
    w.add("final_logits_bias", DType.F32, constant(0), 1, p.vocabSize());
    for (String stack : new String[] {"encoder", "decoder"}) {
      boolean decoder = stack.equals("decoder");
      String prefix = "model." + stack + ".";
      w.add(
          prefix + "embed_positions.weight",
          DType.F32,
          random(seed++, 0.05f),
          p.maxPositions() + 2,
          d);
      layerNorm(w, prefix + "layernorm_embedding", d);
      int layers = decoder ? p.decoderLayers() : p.encoderLayers();
      for (int i = 0; i < layers; i++) {
        String layer = prefix + "layers." + i + ".";
        seed = bartAttention(w, layer + "self_attn.", d, seed);
        layerNorm(w, layer + "self_attn_layer_norm", d);
        if (decoder) {
          seed = bartAttention(w, layer + "encoder_attn.", d, seed);
          layerNorm(w, layer + "encoder_attn_layer_norm", d);
        }
        w.add(
            layer + "fc1.weight",
            DType.F32,
            random(seed++, (float) (1 / Math.sqrt(d))),
            p.dFf(),
            d);
        w.add(layer + "fc1.bias", DType.F32, constant(0), p.dFf());
        w.add(
            layer + "fc2.weight",
            DType.F32,
            random(seed++, (float) (1 / Math.sqrt(p.dFf()))),
            d,
            p.dFf());
        w.add(layer + "fc2.bias", DType.F32, constant(0), d);
        layerNorm(w, layer + "final_layer_norm", d);
      }
    }
  }

  private static long attention(
      SafetensorsWriter w, String prefix, int d, int inner, long seed, String... names) {
    float scale = (float) (1 / Math.sqrt(d));
    for (String name : names) {
      boolean out = name.equals("o");
      w.add(
          prefix + name + ".weight",
          DType.F32,
          random(seed++, scale),
          out ? d : inner,
          out ? inner : d);
    }
    return seed;
  }

  private static long bartAttention(SafetensorsWriter w, String prefix, int d, long seed) {
    float scale = (float) (1 / Math.sqrt(d));
    for (String name : new String[] {"q_proj", "k_proj", "v_proj", "out_proj"}) {
      w.add(prefix + name + ".weight", DType.F32, random(seed++, scale), d, d);
      w.add(prefix + name + ".bias", DType.F32, constant(0), d);
    }
    return seed;
  }

  private static void layerNorm(SafetensorsWriter w, String prefix, int d) {
    w.add(prefix + ".weight", DType.F32, constant(1), d);
    w.add(prefix + ".bias", DType.F32, constant(0), d);
  }

  /** Uniform values in [-scale, scale), reproducible per tensor and independent of chunking. */
  private static SafetensorsWriter.FloatSource random(long seed, float scale) {
    return (start, chunk, n) -> {
      SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + start);
      for (int i = 0; i < n; i++) {
        chunk[i] = (random.nextFloat() * 2 - 1) * scale;
      }
    };
  }

  private static SafetensorsWriter.FloatSource constant(float value) {
    return (start, chunk, n) -> java.util.Arrays.fill(chunk, 0, n, value);
  }

  /**
   * A word-level tokenizer: id i is the word "t&lt;i&gt;"; the family's specials keep their ids.
   */
  private static void writeTokenizer(ModelPreset p, Path file) throws IOException {
    String[] specials =
        p.isT5()
            ? new String[] {"<pad>", "</s>", "<unk>"}
            : new String[] {"<s>", "<pad>", "</s>", "<unk>"};
    ObjectNode root = JSON.createObjectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    ArrayNode added = root.putArray("added_tokens");
    for (int id = 0; id < specials.length; id++) {
      ObjectNode token = added.addObject();
      token.put("id", id);
      token.put("content", specials[id]);
      token.put("single_word", false);
      token.put("lstrip", false);
      token.put("rstrip", false);
      token.put("normalized", false);
      token.put("special", true);
    }
    root.putNull("normalizer");
    root.putObject("pre_tokenizer").put("type", "Whitespace");
    root.putNull("post_processor");
    root.putNull("decoder");
    ObjectNode model = root.putObject("model");
    model.put("type", "WordLevel");
    ObjectNode vocab = model.putObject("vocab");
    for (int id = 0; id < p.vocabSize(); id++) {
      vocab.put(id < specials.length ? specials[id] : "t" + id, id);
    }
    model.put("unk_token", "<unk>");
    JSON.writeValue(file.toFile(), root);
  }
}
