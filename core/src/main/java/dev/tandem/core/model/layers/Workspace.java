package dev.tandem.core.model.layers;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.DataType;
import dev.tandem.api.backend.DeviceTensor;
import dev.tandem.core.model.ModelLimits;
import java.util.ArrayList;
import java.util.List;

/**
 * A model's activation buffers, allocated once on the backend for the largest step ({@link
 * ModelLimits}) and reused by every step. Encoder and decoder share the scratch buffers: the
 * encoder finishes before the decoder starts, and only its output ({@link #encoderHidden}) is read
 * afterwards.
 */
final class Workspace implements AutoCloseable {

  private final AttentionBackend backend;
  private final int dModel;
  private final int vocabSize;
  private final List<DeviceTensor> owned = new ArrayList<>();

  // I32 (maxTokens): this step's inputs
  final DeviceTensor encoderIds;
  final DeviceTensor encoderPositions;
  final DeviceTensor decoderIds;
  final DeviceTensor decoderPositions;
  final DeviceTensor logitRows;

  final DeviceTensor encoderHidden; // (maxTokens, dModel): the encoder's residual stream/output
  final DeviceTensor decoderHidden; // (maxTokens, dModel)
  final DeviceTensor normed; // (maxTokens, dModel): pre-norm sublayers' block input
  final DeviceTensor blockOut; // (maxTokens, dModel): a block's output before the residual add

  final DeviceTensor query; // (maxTokens, heads * headDim)
  final DeviceTensor key; // (maxTokens, heads * headDim)
  final DeviceTensor value; // (maxTokens, heads * headDim)
  final DeviceTensor context; // (maxTokens, heads * headDim): attention output

  final DeviceTensor ffn; // (maxTokens, dFf)
  final DeviceTensor ffnGate; // (maxTokens, dFf) for gated FFNs, else null

  // Grown (rarely) when a step asks for more logits rows than maxSequences, e.g. teacher forcing.
  private int logitCapacity;
  private DeviceTensor selected; // (logitCapacity, dModel): the decoder rows whose logits we want
  private DeviceTensor logits; // (logitCapacity, vocab)
  // Per position of a multi-step decode (grown as positions are asked for):
  private final List<DeviceTensor> chosenIds = new ArrayList<>(); // I32 (logitCapacity) each
  private final List<DeviceTensor> chosenLogprobs = new ArrayList<>(); // (logitCapacity) each

  Workspace(
      AttentionBackend backend,
      ModelLimits limits,
      int dModel,
      int attentionDim,
      int ffnDim,
      boolean gated,
      int vocabSize) {
    this.backend = backend;
    this.dModel = dModel;
    this.vocabSize = vocabSize;
    long tokens = limits.maxBatchedTokens();
    try {
      encoderIds = allocate(DataType.I32, tokens);
      encoderPositions = allocate(DataType.I32, tokens);
      decoderIds = allocate(DataType.I32, tokens);
      decoderPositions = allocate(DataType.I32, tokens);
      logitRows = allocate(DataType.I32, tokens);
      encoderHidden = allocate(DataType.F32, tokens * dModel);
      decoderHidden = allocate(DataType.F32, tokens * dModel);
      normed = allocate(DataType.F32, tokens * dModel);
      blockOut = allocate(DataType.F32, tokens * dModel);
      query = allocate(DataType.F32, tokens * attentionDim);
      key = allocate(DataType.F32, tokens * attentionDim);
      value = allocate(DataType.F32, tokens * attentionDim);
      context = allocate(DataType.F32, tokens * attentionDim);
      ffn = allocate(DataType.F32, tokens * ffnDim);
      ffnGate = gated ? allocate(DataType.F32, tokens * ffnDim) : null;
      growLogits(limits.maxSequences());
    } catch (RuntimeException e) {
      close(); // e.g. out of device memory half-way: give back what was allocated
      throw e;
    }
  }

  /** (rows, dModel) buffer for the selected decoder rows, with room for at least {@code rows}. */
  DeviceTensor selected(int rows) {
    growLogits(rows);
    return selected;
  }

  /** (rows, vocab) logits buffer with room for at least {@code rows}. */
  DeviceTensor logits(int rows) {
    growLogits(rows);
    return logits;
  }

  /** I32 (rows) buffer for each logits row's token chosen at {@code position} of a step. */
  DeviceTensor chosenIds(int position, int rows) {
    growChosen(position, rows);
    return chosenIds.get(position);
  }

  /** (rows) buffer for the log-probability of each token chosen at {@code position}. */
  DeviceTensor chosenLogprobs(int position, int rows) {
    growChosen(position, rows);
    return chosenLogprobs.get(position);
  }

  private void growChosen(int position, int rows) {
    growLogits(rows);
    while (chosenIds.size() <= position) {
      chosenIds.add(allocate(DataType.I32, logitCapacity));
      chosenLogprobs.add(allocate(DataType.F32, logitCapacity));
    }
  }

  private void growLogits(int rows) {
    if (rows <= logitCapacity) {
      return;
    }
    if (selected != null) {
      release(selected);
      release(logits);
    }
    chosenIds.forEach(this::release);
    chosenLogprobs.forEach(this::release);
    chosenIds.clear();
    chosenLogprobs.clear();
    logitCapacity = rows;
    selected = allocate(DataType.F32, (long) rows * dModel);
    logits = allocate(DataType.F32, (long) rows * vocabSize);
  }

  private DeviceTensor allocate(DataType type, long length) {
    DeviceTensor tensor = backend.allocate(type, length);
    owned.add(tensor);
    return tensor;
  }

  private void release(DeviceTensor tensor) {
    owned.remove(tensor);
    backend.free(tensor);
  }

  @Override
  public void close() {
    owned.forEach(backend::free);
    owned.clear();
  }
}
