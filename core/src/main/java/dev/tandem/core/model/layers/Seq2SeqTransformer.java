package dev.tandem.core.model.layers;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionMetadata;
import dev.tandem.api.backend.DeviceTensor;
import dev.tandem.api.backend.SamplingRows;
import dev.tandem.core.model.EncoderDecoderModel;
import dev.tandem.core.model.ModelLimits;
import dev.tandem.core.model.ModelSpec;
import dev.tandem.core.model.StepInput;
import java.util.List;

/**
 * An encoder/decoder transformer composed of building blocks; every family builds one of these.
 *
 * <p>Activations stay on the backend for the whole step: only ids, positions and logits rows are
 * written, and the caller reads the logits.
 */
public final class Seq2SeqTransformer implements EncoderDecoderModel {

  private final AttentionBackend backend;
  private final ModelSpec spec;
  private final ModelLimits limits;
  private final Stack encoder;
  private final Stack decoder;
  private final LmHead lmHead;
  private final List<DeviceTensor> weights;
  private final Workspace workspace;
  private int chosenPosition = -1; // the last choose's position, -1 before one
  private int chosenRows; // and its rows
  private boolean closed;

  /**
   * @param weights the loader that uploaded the stacks' and head's weights; the model takes them
   *     over and frees them on {@link #close()}
   * @param attentionDim heads * headDim
   * @param ffnDim the widest feed-forward hidden size of encoder and decoder
   * @param gatedFfn whether any feed-forward is gated (needs a second hidden buffer)
   */
  public Seq2SeqTransformer(
      ModelSpec spec,
      ModelLimits limits,
      Stack encoder,
      Stack decoder,
      LmHead lmHead,
      WeightLoader weights,
      int attentionDim,
      int ffnDim,
      boolean gatedFfn) {
    this.spec = requireNonNull(spec, "spec is null");
    this.limits = requireNonNull(limits, "limits is null");
    this.encoder = requireNonNull(encoder, "encoder is null");
    this.decoder = requireNonNull(decoder, "decoder is null");
    this.lmHead = requireNonNull(lmHead, "lmHead is null");
    this.backend = weights.backend();
    this.workspace =
        new Workspace(
            backend, limits, spec.dModel(), attentionDim, ffnDim, gatedFfn, lmHead.vocabSize());
    this.weights = weights.release();
  }

  @Override
  public ModelSpec spec() {
    return spec;
  }

  @Override
  public ModelLimits limits() {
    return limits;
  }

  @Override
  public AttentionBackend backend() {
    return backend;
  }

  @Override
  public DeviceTensor forward(StepInput input) {
    checkOpen();
    AttentionMetadata metadata = input.metadata();
    int numEncoder = metadata.numEncoderTokens();
    int numDecoder = metadata.numDecoderTokens();
    checkWithinLimit("encoder tokens", numEncoder);
    checkWithinLimit("decoder tokens", numDecoder);
    int rows = input.numLogitRows();
    Workspace ws = workspace;
    StepContext ctx = new StepContext(backend, ws, metadata, ws.encoderHidden, numEncoder);

    // 1. Encoder (prefill only): its output feeds every decoder layer's cross-attention.
    if (metadata.prefill() && numEncoder > 0) {
      backend.write(ws.encoderIds, 0, input.encoderTokens(), 0, numEncoder);
      if (encoder.embedder().usesPositions()) {
        backend.write(ws.encoderPositions, 0, input.encoderPositions(), 0, numEncoder);
      }
      encoder.run(ctx, ws.encoderIds, ws.encoderPositions, numEncoder, ws.encoderHidden);
    }

    // 2. Decoder over the packed decoder tokens (whole sequences at prefill, one each at decode).
    DeviceTensor decoderIds = ws.decoderIds;
    if (input.decoderTokensChosen()) {
      if (chosenPosition < 0 || chosenRows != numDecoder) {
        throw new IllegalStateException(
            "a decode of "
                + numDecoder
                + " tokens chosen on the backend, but the last choice was of "
                + (chosenPosition < 0 ? "none" : chosenRows + " rows"));
      }
      decoderIds = ws.chosenIds(chosenPosition, numDecoder);
    } else {
      backend.write(ws.decoderIds, 0, input.decoderTokens(), 0, numDecoder);
    }
    if (decoder.embedder().usesPositions()) {
      backend.write(ws.decoderPositions, 0, input.decoderPositions(), 0, numDecoder);
    }
    decoder.run(ctx, decoderIds, ws.decoderPositions, numDecoder, ws.decoderHidden);

    // 3. LM head over the wanted rows only: (rows, dModel) -> (rows, vocab). At decode the rows
    // are the decoder's tokens in order, and the head reads the decoder's output as it is.
    DeviceTensor logits = ws.logits(rows);
    if (rows > 0) {
      DeviceTensor selected = ws.decoderHidden;
      if (!allDecoderTokens(input.logitRows(), rows, numDecoder)) {
        selected = ws.selected(rows);
        backend.write(ws.logitRows, 0, input.logitRows(), 0, rows);
        backend.embedding(ws.logitRows, rows, ws.decoderHidden, spec.dModel(), 1f, selected);
      }
      lmHead.apply(backend, selected, rows, logits);
    }
    return logits;
  }

  /** Whether the logits rows are every decoder token, in order: 0, 1, …, numDecoder − 1. */
  private static boolean allDecoderTokens(int[] logitRows, int rows, int numDecoder) {
    if (rows != numDecoder) {
      return false;
    }
    for (int i = 0; i < rows; i++) {
      if (logitRows[i] != i) {
        return false;
      }
    }
    return true;
  }

  @Override
  public void choose(int rows, SamplingRows sampling, int position) {
    checkOpen();
    if (position < 0) {
      throw new IllegalArgumentException("position=" + position + " is negative");
    }
    chosenPosition = position;
    chosenRows = rows;
    if (rows > 0) {
      DeviceTensor idsOut = workspace.chosenIds(position, rows);
      DeviceTensor logprobsOut = workspace.chosenLogprobs(position, rows);
      DeviceTensor logits = workspace.logits(rows);
      if (sampling == null) {
        backend.greedy(logits, rows, spec.vocabSize(), idsOut, logprobsOut);
      } else {
        backend.sample(logits, rows, spec.vocabSize(), sampling, idsOut, logprobsOut);
      }
    }
  }

  @Override
  public void readChosen(int rows, int positions, int[] ids, float[] logprobs) {
    checkOpen();
    if (rows > 0 && positions - 1 > chosenPosition) {
      throw new IllegalStateException(
          "read of " + positions + " positions; the last choice was at position " + chosenPosition);
    }
    for (int j = 0; rows > 0 && j < positions; j++) {
      backend.read(workspace.chosenIds(j, rows), 0, ids, j * rows, rows);
      backend.read(workspace.chosenLogprobs(j, rows), 0, logprobs, j * rows, rows);
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("model " + spec.architecture() + " is closed");
    }
  }

  @Override
  public DeviceTensor encoderOutput() {
    return workspace.encoderHidden;
  }

  private void checkWithinLimit(String what, int count) {
    if (count > limits.maxBatchedTokens()) {
      throw new IllegalArgumentException(
          "step has "
              + count
              + " "
              + what
              + ", more than maxBatchedTokens="
              + limits.maxBatchedTokens());
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    workspace.close();
    weights.forEach(backend::free);
  }
}
