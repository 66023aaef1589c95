package dev.tandem.core.model;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.DeviceTensor;
import dev.tandem.api.backend.SamplingRows;

/**
 * An encoder/decoder transformer whose weights and activation buffers live on one {@link
 * AttentionBackend}. A step is a prefill or a decode, as its {@link
 * dev.tandem.api.backend.AttentionMetadata} says:
 *
 * <ul>
 *   <li>prefill: the encoder runs over the packed encoder tokens; each decoder layer's
 *       cross-attention writes its K/V into the cross blocks (once per group, here) and the decoder
 *       runs over the packed decoder tokens, writing their self-attention K/V;
 *   <li>decode: the decoder alone runs over one new token per sequence, reading the paged self and
 *       cross caches.
 * </ul>
 *
 * Not thread-safe: one step at a time.
 */
public interface EncoderDecoderModel extends AutoCloseable {

  ModelSpec spec();

  /** The step sizes the activation buffers were allocated for. */
  ModelLimits limits();

  /** The backend holding this model's weights; the KV cache must be allocated on it. */
  AttentionBackend backend();

  /**
   * Runs one step.
   *
   * @return device logits {@code (input.numLogitRows(), spec().vocabSize())}, one row per entry of
   *     {@code input.logitRows()}; valid until the next call
   */
  DeviceTensor forward(StepInput input);

  /**
   * The next token of each of the first {@code rows} rows of the last {@link #forward}'s logits,
   * chosen on the backend: greedily ({@link AttentionBackend#greedy}: the row's argmax and its
   * log-softmax) when {@code sampling} is null, else as {@link AttentionBackend#sample} draws it.
   * The choice stays on the backend, as position {@code position} of a multi-step decode (0 for a
   * single position): a next decode {@link StepInput#decoderTokensChosen} takes it as its input,
   * and {@link #readChosen} reads it back. Nothing waits for the backend here.
   */
  void choose(int rows, SamplingRows sampling, int position);

  /**
   * Reads back what {@link #choose} chose at positions 0 to {@code positions} − 1, two values per
   * row instead of the vocabulary: position j's row r into ids[j × rows + r] and logprobs[j × rows
   * + r]. Waits for the backend.
   */
  void readChosen(int rows, int positions, int[] ids, float[] logprobs);

  /**
   * The encoder's final hidden states of the last prefill, {@code (numEncoderTokens, dModel)} in
   * packing order; valid until the next call to {@link #forward}.
   */
  DeviceTensor encoderOutput();

  /** Frees the weights and buffers on the backend. */
  @Override
  void close();
}
