package dev.tandem.core.model;

import dev.tandem.api.backend.PositionBias;
import dev.tandem.core.checkpoint.Checkpoint;
import dev.tandem.core.checkpoint.ConfigJson;
import java.util.function.DoubleUnaryOperator;

/**
 * An independent, deliberately plain forward pass of the supported families for one example at a
 * time: no backend, no batching, no paging, double accumulation. Written from HuggingFace's
 * modeling code, separately from the production model, so that the two check each other; checked
 * itself against the HuggingFace fixtures.
 */
final class ReferenceModel {

  private final Checkpoint ckpt;
  private final ConfigJson config;
  private final boolean t5;
  private final String arch;
  private final int d;

  ReferenceModel(Checkpoint ckpt) {
    this.ckpt = ckpt;
    this.config = ckpt.config();
    this.arch = config.architecture();
    this.t5 = arch.contains("T5");
    this.d = config.getInt("d_model");
  }

  /** The encoder's final hidden states, [length][d]. */
  float[][] encode(int[] ids) {
    return t5 ? t5Encode(ids) : bartEncode(ids);
  }

  /** Logits for every decoder position, [length][vocab]. */
  float[][] decode(int[] decoderIds, float[][] encoderHidden) {
    return t5 ? t5Decode(decoderIds, encoderHidden) : bartDecode(decoderIds, encoderHidden);
  }

  // ---------------------------------------------------------------- T5

  private float[][] t5Encode(int[] ids) {
    String embedName = ckpt.has("shared.weight") ? "shared.weight" : "encoder.embed_tokens.weight";
    float[][] h = gather(w(embedName), ids, 1f);
    float[] biasTable = w("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
    for (int i = 0; i < config.getInt("num_layers"); i++) {
      String p = "encoder.block." + i + ".layer.";
      float[][] x = rms(h, w(p + "0.layer_norm.weight"));
      addInPlace(h, t5Attention(p + "0.SelfAttention.", x, x, biasTable, true, false));
      x = rms(h, w(p + "1.layer_norm.weight"));
      addInPlace(h, t5Ffn(p + "1.DenseReluDense.", x));
    }
    return rms(h, w("encoder.final_layer_norm.weight"));
  }

  private float[][] t5Decode(int[] ids, float[][] enc) {
    String embedName = ckpt.has("shared.weight") ? "shared.weight" : "decoder.embed_tokens.weight";
    float[][] h = gather(w(embedName), ids, 1f);
    float[] biasTable = w("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
    int layers = config.getInt("num_decoder_layers", config.getInt("num_layers"));
    for (int i = 0; i < layers; i++) {
      String p = "decoder.block." + i + ".layer.";
      float[][] x = rms(h, w(p + "0.layer_norm.weight"));
      addInPlace(h, t5Attention(p + "0.SelfAttention.", x, x, biasTable, false, true));
      x = rms(h, w(p + "1.layer_norm.weight"));
      addInPlace(h, t5Attention(p + "1.EncDecAttention.", x, enc, null, false, false));
      x = rms(h, w(p + "2.layer_norm.weight"));
      addInPlace(h, t5Ffn(p + "2.DenseReluDense.", x));
    }
    h = rms(h, w("decoder.final_layer_norm.weight"));
    // transformers 5: T5 records the choice; mT5's head is never scaled
    boolean scale =
        config
            .optBoolean("scale_decoder_outputs")
            .orElse(
                !config.getString("model_type").equals("mt5")
                    && config.getBoolean("tie_word_embeddings", true));
    if (scale) {
      float s = (float) Math.pow(d, -0.5);
      for (float[] row : h) {
        for (int j = 0; j < d; j++) {
          row[j] *= s;
        }
      }
    }
    String head = ckpt.has("lm_head.weight") ? "lm_head.weight" : "shared.weight";
    return matmul(h, w(head), null);
  }

  private float[][] t5Attention(
      String p,
      float[][] x,
      float[][] kv,
      float[] biasTable,
      boolean bidirectional,
      boolean causal) {
    int heads = config.getInt("num_heads");
    int dkv = config.getInt("d_kv");
    float[][] q = matmul(x, w(p + "q.weight"), null);
    float[][] k = matmul(kv, w(p + "k.weight"), null);
    float[][] v = matmul(kv, w(p + "v.weight"), null);
    int buckets = config.getInt("relative_attention_num_buckets", 32);
    int maxDistance = config.getInt("relative_attention_max_distance", 128);
    float[][] out =
        attention(
            q,
            k,
            v,
            heads,
            dkv,
            1.0,
            causal,
            biasTable == null
                ? null
                : (head, qPos, kPos) ->
                    biasTable[
                        PositionBias.bucket(kPos - qPos, bidirectional, buckets, maxDistance)
                                * heads
                            + head]);
    return matmul(out, w(p + "o.weight"), null);
  }

  private float[][] t5Ffn(String p, float[][] x) {
    String proj = config.getString("feed_forward_proj", "relu");
    boolean gated = proj.startsWith("gated-");
    String actName = proj.equals("gated-gelu") ? "gelu_new" : proj.substring(proj.indexOf('-') + 1);
    DoubleUnaryOperator act = activation(actName);
    float[][] hidden;
    if (gated) {
      hidden = map(matmul(x, w(p + "wi_0.weight"), null), act);
      float[][] linear = matmul(x, w(p + "wi_1.weight"), null);
      for (int t = 0; t < hidden.length; t++) {
        for (int j = 0; j < hidden[t].length; j++) {
          hidden[t][j] *= linear[t][j];
        }
      }
    } else {
      hidden = map(matmul(x, w(p + "wi.weight"), null), act);
    }
    return matmul(hidden, w(p + "wo.weight"), null);
  }

  // ---------------------------------------------------------------- BART, mBART, Marian

  private boolean mbart() {
    return arch.startsWith("MBart");
  }

  private boolean marian() {
    return arch.startsWith("Marian");
  }

  private float[][] bartEmbed(String stack, int[] ids, String tokenTable) {
    float scale = config.getBoolean("scale_embedding", false) ? (float) Math.sqrt(d) : 1f;
    float[][] h = gather(w(tokenTable), ids, scale);
    int offset = marian() ? 0 : 2;
    float[] positions;
    String posName = "model." + stack + ".embed_positions.weight";
    if (ckpt.has(posName)) {
      positions = w(posName);
    } else {
      positions = sinusoids(config.getInt("max_position_embeddings"), d);
    }
    for (int t = 0; t < ids.length; t++) {
      for (int j = 0; j < d; j++) {
        h[t][j] += positions[(t + offset) * d + j];
      }
    }
    if (!marian()) {
      h = layerNorm(h, "model." + stack + ".layernorm_embedding");
    }
    return h;
  }

  /** HuggingFace's MarianSinusoidalPositionalEmbedding.create_weight, written out again. */
  private static float[] sinusoids(int n, int dim) {
    float[] out = new float[n * dim];
    int half = dim % 2 == 0 ? dim / 2 : dim / 2 + 1;
    for (int pos = 0; pos < n; pos++) {
      for (int i = 0; i < half; i++) {
        out[pos * dim + i] = (float) Math.sin(pos / Math.pow(10000, 2.0 * i / dim));
      }
      for (int i = 0; i < dim / 2; i++) {
        out[pos * dim + half + i] = (float) Math.cos(pos / Math.pow(10000, 2.0 * i / dim));
      }
    }
    return out;
  }

  private float[][] bartEncode(int[] ids) {
    String table =
        ckpt.has("model.shared.weight")
            ? "model.shared.weight"
            : "model.encoder.embed_tokens.weight";
    float[][] h = bartEmbed("encoder", ids, table);
    int heads = config.getInt("encoder_attention_heads");
    for (int i = 0; i < config.getInt("encoder_layers"); i++) {
      String p = "model.encoder.layers." + i + ".";
      h =
          residual(
              h,
              p + "self_attn_layer_norm",
              x -> bartAttention(p + "self_attn.", x, x, heads, false));
      h = residual(h, p + "final_layer_norm", x -> bartFfn(p, x));
    }
    return mbart() ? layerNorm(h, "model.encoder.layer_norm") : h;
  }

  private float[][] bartDecode(int[] ids, float[][] enc) {
    boolean shared = config.getBoolean("share_encoder_decoder_embeddings", true);
    String table =
        shared && ckpt.has("model.shared.weight")
            ? "model.shared.weight"
            : "model.decoder.embed_tokens.weight";
    float[][] h = bartEmbed("decoder", ids, table);
    int heads = config.getInt("decoder_attention_heads");
    for (int i = 0; i < config.getInt("decoder_layers"); i++) {
      String p = "model.decoder.layers." + i + ".";
      h =
          residual(
              h,
              p + "self_attn_layer_norm",
              x -> bartAttention(p + "self_attn.", x, x, heads, true));
      h =
          residual(
              h,
              p + "encoder_attn_layer_norm",
              x -> bartAttention(p + "encoder_attn.", x, enc, heads, false));
      h = residual(h, p + "final_layer_norm", x -> bartFfn(p, x));
    }
    if (mbart()) {
      h = layerNorm(h, "model.decoder.layer_norm");
    }
    String head = ckpt.has("lm_head.weight") ? "lm_head.weight" : table;
    return matmul(h, w(head), ckpt.has("final_logits_bias") ? w("final_logits_bias") : null);
  }

  /** Post-norm h = LN(h + f(h)) for BART and Marian; pre-norm h = h + f(LN(h)) for mBART. */
  private float[][] residual(
      float[][] h, String norm, java.util.function.UnaryOperator<float[][]> f) {
    if (mbart()) {
      float[][] out = f.apply(layerNorm(h, norm));
      addInPlace(out, h);
      return out;
    }
    float[][] sum = f.apply(h);
    addInPlace(sum, h);
    return layerNorm(sum, norm);
  }

  private float[][] bartAttention(String p, float[][] x, float[][] kv, int heads, boolean causal) {
    int headDim = d / heads;
    float[][] q = matmul(x, w(p + "q_proj.weight"), w(p + "q_proj.bias"));
    float[][] k = matmul(kv, w(p + "k_proj.weight"), w(p + "k_proj.bias"));
    float[][] v = matmul(kv, w(p + "v_proj.weight"), w(p + "v_proj.bias"));
    float[][] out = attention(q, k, v, heads, headDim, Math.pow(headDim, -0.5), causal, null);
    return matmul(out, w(p + "out_proj.weight"), w(p + "out_proj.bias"));
  }

  private float[][] bartFfn(String p, float[][] x) {
    DoubleUnaryOperator act = activation(config.getString("activation_function", "gelu"));
    float[][] hidden = map(matmul(x, w(p + "fc1.weight"), w(p + "fc1.bias")), act);
    return matmul(hidden, w(p + "fc2.weight"), w(p + "fc2.bias"));
  }

  private float[][] layerNorm(float[][] x, String prefix) {
    float[] weight = w(prefix + ".weight");
    float[] bias = w(prefix + ".bias");
    float[][] out = new float[x.length][];
    for (int t = 0; t < x.length; t++) {
      double mean = 0;
      for (float v : x[t]) {
        mean += v;
      }
      mean /= x[t].length;
      double var = 0;
      for (float v : x[t]) {
        var += (v - mean) * (v - mean);
      }
      var /= x[t].length;
      double inv = 1 / Math.sqrt(var + 1e-5);
      out[t] = new float[x[t].length];
      for (int j = 0; j < x[t].length; j++) {
        out[t][j] = (float) ((x[t][j] - mean) * inv * weight[j] + bias[j]);
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- shared math

  interface Bias {
    float at(int head, int qPos, int kPos);
  }

  private static float[][] attention(
      float[][] q,
      float[][] k,
      float[][] v,
      int heads,
      int headDim,
      double scale,
      boolean causal,
      Bias bias) {
    float[][] out = new float[q.length][heads * headDim];
    for (int h = 0; h < heads; h++) {
      int o = h * headDim;
      for (int t = 0; t < q.length; t++) {
        int keys = causal ? t + 1 : k.length;
        double[] p = new double[keys];
        double max = Double.NEGATIVE_INFINITY;
        for (int s = 0; s < keys; s++) {
          double dot = 0;
          for (int j = 0; j < headDim; j++) {
            dot += (double) q[t][o + j] * k[s][o + j];
          }
          p[s] = dot * scale + (bias == null ? 0 : bias.at(h, t, s));
          max = Math.max(max, p[s]);
        }
        double sum = 0;
        for (int s = 0; s < keys; s++) {
          p[s] = Math.exp(p[s] - max);
          sum += p[s];
        }
        for (int j = 0; j < headDim; j++) {
          double acc = 0;
          for (int s = 0; s < keys; s++) {
            acc += p[s] * v[s][o + j];
          }
          out[t][o + j] = (float) (acc / sum);
        }
      }
    }
    return out;
  }

  private float[][] rms(float[][] x, float[] weight) {
    double eps = config.getDouble("layer_norm_epsilon", 1e-6);
    float[][] out = new float[x.length][];
    for (int t = 0; t < x.length; t++) {
      double ms = 0;
      for (float v : x[t]) {
        ms += (double) v * v;
      }
      double inv = 1 / Math.sqrt(ms / x[t].length + eps);
      out[t] = new float[x[t].length];
      for (int j = 0; j < x[t].length; j++) {
        out[t][j] = (float) (x[t][j] * inv * weight[j]);
      }
    }
    return out;
  }

  /** x [n][in] times weight (out, in) transposed, plus bias. */
  private static float[][] matmul(float[][] x, float[] weight, float[] bias) {
    int in = x[0].length;
    int outDim = weight.length / in;
    float[][] y = new float[x.length][outDim];
    for (int t = 0; t < x.length; t++) {
      for (int o = 0; o < outDim; o++) {
        double acc = bias == null ? 0 : bias[o];
        for (int j = 0; j < in; j++) {
          acc += (double) x[t][j] * weight[o * in + j];
        }
        y[t][o] = (float) acc;
      }
    }
    return y;
  }

  private float[][] gather(float[] table, int[] ids, float scale) {
    float[][] out = new float[ids.length][d];
    for (int t = 0; t < ids.length; t++) {
      for (int j = 0; j < d; j++) {
        out[t][j] = table[ids[t] * d + j] * scale;
      }
    }
    return out;
  }

  private static void addInPlace(float[][] h, float[][] delta) {
    for (int t = 0; t < h.length; t++) {
      for (int j = 0; j < h[t].length; j++) {
        h[t][j] += delta[t][j];
      }
    }
  }

  private static float[][] map(float[][] x, DoubleUnaryOperator f) {
    for (float[] row : x) {
      for (int j = 0; j < row.length; j++) {
        row[j] = (float) f.applyAsDouble(row[j]);
      }
    }
    return x;
  }

  private static DoubleUnaryOperator activation(String name) {
    return switch (name) {
      case "relu" -> x -> Math.max(0, x);
      case "gelu" -> x -> 0.5 * x * (1 + erf(x / Math.sqrt(2)));
      case "gelu_new", "gelu_pytorch_tanh" ->
          x -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
      case "silu", "swish" -> x -> x / (1 + Math.exp(-x));
      default -> throw new IllegalArgumentException("reference has no activation " + name);
    };
  }

  /**
   * erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n 2^n x^(2n+1) / (2n+1)!!: every term positive, so no
   * cancellation; erfc(6) is below 1e-16.
   */
  static double erf(double x) {
    double a = Math.abs(x);
    if (a >= 6) {
      return Math.signum(x);
    }
    double term = a;
    double sum = a;
    for (int n = 1; term > 1e-17 * sum; n++) {
      term *= 2 * a * a / (2 * n + 1);
      sum += term;
    }
    return Math.signum(x) * 2 / Math.sqrt(Math.PI) * Math.exp(-a * a) * sum;
  }

  private float[] w(String name) {
    return ckpt.floats(name);
  }
}
