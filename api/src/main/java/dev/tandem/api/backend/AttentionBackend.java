package dev.tandem.api.backend;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.block.BlockMapping;
import java.util.List;

/**
 * A compute device that runs a whole model's forward pass. It owns its device memory: weights are
 * uploaded once, activations live in {@link DeviceTensor}s the model allocates once and reuses
 * every step, and the paged KV cache (plus its host swap pool) is allocated by {@link
 * #allocateKvCache}. Per step only ids, positions and {@link AttentionMetadata} go in, and logits
 * or sampled ids come out.
 *
 * <p>Operations may run asynchronously; {@code read} waits for all earlier work. Matrices are
 * row-major float32; {@code n} is the number of rows in use, which may be fewer than a tensor's
 * capacity. Unless stated otherwise an output may alias an input of the same shape.
 *
 * <p>Implementations are used by one thread at a time.
 */
public interface AttentionBackend extends AutoCloseable {

  /** Provider name, e.g. "cpu". */
  String name();

  /** The device, in words: "CPU, 2 threads, AVX2 (Vector API 256-bit)". */
  String deviceName();

  /** Device memory the backend could still allocate, in bytes; sizes the KV cache. */
  long freeMemoryBytes();

  /**
   * Device memory a KV cache could take when a host swap pool of {@code swapBytes} is allocated
   * beside it. By default {@link #freeMemoryBytes()}: the swap pool lives in host memory, apart
   * from the device's. Backends whose device memory is (or is mirrored in) the JVM heap, where the
   * swap pool lives too, subtract it.
   */
  default long freeMemoryBesideSwap(long swapBytes) {
    return freeMemoryBytes();
  }

  // ---- memory

  /** A new tensor of {@code length} zeros. */
  DeviceTensor allocate(DataType type, long length);

  /** A new F32 tensor holding {@code data}. */
  DeviceTensor upload(float[] data);

  void write(DeviceTensor dst, long dstOffset, float[] src, int srcOffset, int length);

  void write(DeviceTensor dst, long dstOffset, int[] src, int srcOffset, int length);

  /** Copies device values to the host, after all earlier operations have finished. */
  void read(DeviceTensor src, long srcOffset, float[] dst, int dstOffset, int length);

  void read(DeviceTensor src, long srcOffset, int[] dst, int dstOffset, int length);

  /** Releases a tensor; using it afterwards is an error. */
  void free(DeviceTensor tensor);

  // ---- paged KV cache

  /** Allocates the device pools and the host swap pool; replaces any earlier cache. */
  void allocateKvCache(KvCacheSpec spec);

  /** Copies blocks device → host swap pool, by (gpu block, cpu block) pairs, for every layer. */
  void swapOut(List<BlockMapping> gpuToCpu);

  /** Copies blocks host swap pool → device, by (cpu block, gpu block) pairs, for every layer. */
  void swapIn(List<BlockMapping> cpuToGpu);

  /** Copy-on-write: copies device blocks (src, dst) in every layer's K and V pools. */
  void copyBlocks(List<BlockMapping> srcToDst);

  // ---- kernels

  /** out(n, dim) = table[ids[i]] * scale; ids is I32 (n). Also gathers rows of any matrix. */
  void embedding(
      DeviceTensor ids, int n, DeviceTensor table, int dim, float scale, DeviceTensor out);

  /**
   * y(n, outDim) = x(n, inDim) · weight(outDim, inDim)ᵀ + bias(outDim). Weight is stored as
   * HuggingFace stores nn.Linear; bias may be null. y must not alias x.
   */
  void linear(
      DeviceTensor x,
      int n,
      int inDim,
      DeviceTensor weight,
      DeviceTensor bias,
      int outDim,
      DeviceTensor y);

  /** out = a + b, element-wise over {@code count} values. */
  void add(DeviceTensor a, DeviceTensor b, long count, DeviceTensor out);

  /** out = a * b, element-wise over {@code count} values. */
  void multiply(DeviceTensor a, DeviceTensor b, long count, DeviceTensor out);

  /** out = x * factor, element-wise over {@code count} values. */
  void scale(DeviceTensor x, float factor, long count, DeviceTensor out);

  /** out = act(x), element-wise over {@code count} values. */
  void activation(Activation kind, DeviceTensor x, long count, DeviceTensor out);

  /**
   * Normalizes each row of x(n, dim) into out. With delta (else null), x += delta first, in the
   * same pass: the residual connection before the norm (vLLM's fused_add_rms_norm). bias is LAYER's
   * and null for RMS. out may be x; delta may be neither.
   */
  void normalize(
      Normalization kind,
      DeviceTensor x,
      DeviceTensor delta,
      int n,
      int dim,
      DeviceTensor weight,
      DeviceTensor bias,
      float eps,
      DeviceTensor out);

  /** T5 LayerNorm: out = x / sqrt(mean(x²) + eps) * weight, per row of (n, dim). */
  default void rmsNorm(
      DeviceTensor x, int n, int dim, DeviceTensor weight, float eps, DeviceTensor out) {
    normalize(Normalization.RMS, x, null, n, dim, weight, null, eps, out);
  }

  /** out = (x − mean) / sqrt(var + eps) * weight + bias, per row of (n, dim). */
  default void layerNorm(
      DeviceTensor x,
      int n,
      int dim,
      DeviceTensor weight,
      DeviceTensor bias,
      float eps,
      DeviceTensor out) {
    normalize(Normalization.LAYER, x, null, n, dim, weight, requireNonNull(bias, "bias"), eps, out);
  }

  /** residual += delta, then out = {@link #rmsNorm} of it, in one pass; out may be residual. */
  default void addRmsNorm(
      DeviceTensor residual,
      DeviceTensor delta,
      int n,
      int dim,
      DeviceTensor weight,
      float eps,
      DeviceTensor out) {
    normalize(
        Normalization.RMS,
        residual,
        requireNonNull(delta, "delta"),
        n,
        dim,
        weight,
        null,
        eps,
        out);
  }

  /** residual += delta, then out = {@link #layerNorm} of it, in one pass; out may be residual. */
  default void addLayerNorm(
      DeviceTensor residual,
      DeviceTensor delta,
      int n,
      int dim,
      DeviceTensor weight,
      DeviceTensor bias,
      float eps,
      DeviceTensor out) {
    normalize(
        Normalization.LAYER,
        residual,
        requireNonNull(delta, "delta"),
        n,
        dim,
        weight,
        requireNonNull(bias, "bias"),
        eps,
        out);
  }

  /**
   * Attention of the given type (see {@link AttentionType}) over the step's batch. q and out are
   * (numQueries, numHeads * headDim); k and v are (numKeys, numHeads * headDim), or null for
   * ENCODER_DECODER at decode, when the keys come from the cross cache. out must not alias q, k, v.
   */
  void attention(
      AttentionType type,
      AttentionSpec spec,
      DeviceTensor q,
      DeviceTensor k,
      DeviceTensor v,
      DeviceTensor out,
      AttentionMetadata metadata);

  /**
   * Greedy decoding's choice without reading the logits back: for row i of logits(n, vocab), ids[i]
   * = the first index of the row's largest value and logprobs[i] = that value's log-softmax, max −
   * log Σ_j exp(row[j]). ids is I32 (n), logprobs F32 (n).
   */
  void greedy(DeviceTensor logits, int n, int vocab, DeviceTensor ids, DeviceTensor logprobs);

  /**
   * Whether this backend implements {@link #sample}. When it does not, the engine reads the logits
   * of a step with sampled rows back and samples on the host.
   */
  default boolean samplesOnDevice() {
    return false;
  }

  /**
   * Sampling's choice without reading the logits back, for rows whose only processing is
   * temperature, top-k, top-p and min-p: the host sampler's rules, in its order. For row i of
   * logits(n, vocab) with the settings of {@code rows} row i:
   *
   * <ul>
   *   <li>temperature 0: as {@link #greedy}.
   *   <li>else x = row × (float) (1 / temperature) (the row itself at temperature 1), m = max(x);
   *   <li>top-k (0 &lt; k &lt; vocab): x below the k-th largest value (equal values counted apart)
   *       is masked;
   *   <li>top-p (&lt; 1): with w = exp(x − m) over the tokens left, x below the largest value v
   *       with Σ_{x ≥ v} w ≥ p · Σ w is masked;
   *   <li>min-p (&gt; 0): x below (float) (m + ln min-p) is masked;
   *   <li>ids[i] = the first index, in id order, at which the running sum of the weights w of the
   *       tokens left exceeds uniform · Σ w; logprobs[i] = x[ids[i]] − (m + ln Σ w).
   * </ul>
   *
   * Sums may be formed in any order (a token drawn exactly at a boundary may differ from the
   * host's, as rounding decides), but the same input must always give the same output.
   *
   * @throws UnsupportedOperationException if {@link #samplesOnDevice()} is false
   */
  default void sample(
      DeviceTensor logits,
      int n,
      int vocab,
      SamplingRows rows,
      DeviceTensor ids,
      DeviceTensor logprobs) {
    throw new UnsupportedOperationException(
        name() + " backend does not sample on the device; read the logits and sample on the host");
  }

  /** Frees every tensor and the KV cache. */
  @Override
  void close();
}
