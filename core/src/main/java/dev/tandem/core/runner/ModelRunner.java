package dev.tandem.core.runner;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionMetadata;
import dev.tandem.api.backend.DeviceTensor;
import dev.tandem.api.backend.KvCacheSpec;
import dev.tandem.api.backend.SamplingRows;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.api.sequence.SequenceStatus;
import dev.tandem.core.model.EncoderDecoderModel;
import dev.tandem.core.model.ModelLimits;
import dev.tandem.core.model.ModelSpec;
import dev.tandem.core.model.StepInput;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs scheduled steps on a model: applies the step's block swaps and copies, packs its tokens
 * without padding, builds the {@link AttentionMetadata} from the block manager's tables, runs the
 * model and reads back the logits.
 *
 * <p>Prefill: per group, its encoder tokens (cross slots from its cross table) and its single
 * RUNNING decoder sequence, all of its tokens (prompt and anything generated before a recompute).
 * Decode: per RUNNING decoder sequence, its last token at position length − 1, its self block
 * table, and its group's cross table and encoder length.
 *
 * <p>Host buffers are allocated once; per step only the metadata's small arrays are new. Not
 * thread-safe.
 */
public final class ModelRunner {

  private final EncoderDecoderModel model;
  private final AttentionBackend backend;
  private final KvCacheSpec cacheSpec;
  private final int blockSize;
  private final ModelLimits limits;
  private final int maxPositions;

  // Packing buffers, maxBatchedTokens each.
  private final int[] encoderTokens;
  private final int[] encoderPositions;
  private final int[] decoderTokens;
  private final int[] decoderPositions;
  private final int[] logitRows;
  private final Logits logits;
  private DeviceTensor lastLogits; // the last forward pass's, on the backend
  private AttentionMetadata lastDecode; // the last decode forward pass's
  private final List<Sequence> decodeSeqs = new ArrayList<>(); // its rows' sequences
  private final List<SequenceGroup> decodeOwners = new ArrayList<>(); // and their groups

  /**
   * Allocates the KV cache on the backend: per decoder layer, K and V pools of {@code numGpuBlocks}
   * blocks of {@code blockSize} tokens, plus {@code numSwapBlocks} host blocks.
   *
   * @param backend the backend the model was loaded on
   */
  public ModelRunner(
      EncoderDecoderModel model,
      AttentionBackend backend,
      int blockSize,
      int numGpuBlocks,
      int numSwapBlocks) {
    this.model = requireNonNull(model, "model is null");
    this.backend = requireNonNull(backend, "backend is null");
    if (model.backend() != backend) {
      throw new IllegalArgumentException(
          "the model's weights live on backend "
              + model.backend().name()
              + ", not on the given backend "
              + backend.name());
    }
    ModelSpec spec = model.spec();
    this.cacheSpec =
        new KvCacheSpec(
            spec.numDecoderLayers(),
            numGpuBlocks,
            numSwapBlocks,
            blockSize,
            spec.numHeads(),
            spec.headDim());
    this.blockSize = blockSize;
    this.limits = model.limits();
    this.maxPositions = spec.maxPositions().orElse(Integer.MAX_VALUE);
    int maxTokens = limits.maxBatchedTokens();
    this.encoderTokens = new int[maxTokens];
    this.encoderPositions = new int[maxTokens];
    this.decoderTokens = new int[maxTokens];
    this.decoderPositions = new int[maxTokens];
    this.logitRows = new int[maxTokens];
    this.logits = new Logits(spec.vocabSize(), limits.maxSequences());
    backend.allocateKvCache(cacheSpec);
  }

  /** How many blocks of {@code blockSize} tokens fit in {@code bytes} for this model. */
  public static int blocksThatFit(long bytes, ModelSpec spec, int blockSize) {
    long perBlock =
        KvCacheSpec.bytesPerBlock(
            spec.numDecoderLayers(), blockSize, spec.numHeads(), spec.headDim());
    return (int) Math.min(Integer.MAX_VALUE, Math.max(0, bytes / perBlock));
  }

  public EncoderDecoderModel model() {
    return model;
  }

  public KvCacheSpec cacheSpec() {
    return cacheSpec;
  }

  public int blockSize() {
    return blockSize;
  }

  /**
   * Runs the step and returns the logits of each RUNNING decoder sequence's last position, one row
   * per sequence in the order of {@code step.groups()} then {@code
   * group.sequences(SequenceStatus.RUNNING)}.
   */
  public Logits execute(ScheduledStep step, BlockSpaceManager blocks) {
    return run(step, blocks, false);
  }

  /**
   * Runs a prefill step and returns the logits of every decoder position (teacher forcing): rows in
   * packing order, group after group, row t of a sequence predicting its token t + 1.
   */
  public Logits executeAllPositions(ScheduledStep step, BlockSpaceManager blocks) {
    if (!step.prefill()) {
      throw new IllegalArgumentException("all-position logits need a prefill step");
    }
    return run(step, blocks, true);
  }

  /**
   * Runs the step like {@link #execute} but chooses every row's token on the backend ({@link
   * EncoderDecoderModel#choose}: greedily when {@code sampling} is null) instead of reading back
   * the logits: ids[r] = row r's token, logprobs[r] = its log-probability, rows in {@link
   * #execute}'s order, drawn with {@code sampling[0]}.
   *
   * <p>A decode step may run {@code positions} > 1 (multi-step decoding): after each position,
   * every row's chosen token becomes its input at the next one, written to the cache slot after it
   * — the block manager must have reserved those slots (lookahead). The tokens stay on the backend
   * until the last position has run, so the host never waits for the device in between (vLLM's
   * advance_step). Position j's tokens land at ids[j * rows + r], drawn with {@code sampling[j]}.
   * Rows run every position even once their token would have stopped them; the caller drops what
   * follows a stop.
   *
   * @param sampling per position, each row's settings; null chooses greedily
   * @return the number of rows
   */
  public int executeChoosing(
      ScheduledStep step,
      BlockSpaceManager blocks,
      int positions,
      SamplingRows[] sampling,
      int[] ids,
      float[] logprobs) {
    if (positions < 1 || (positions > 1 && step.prefill())) {
      throw new IllegalArgumentException(
          "positions=" + positions + ": must be 1 at prefill, at least 1 at decode");
    }
    int rows = forward(step, blocks, false);
    if (positions * rows > Math.min(ids.length, logprobs.length)) {
      throw new IllegalArgumentException(
          "the step has "
              + positions
              + " x "
              + rows
              + " rows; ids and logprobs hold "
              + ids.length);
    }
    for (int j = 0; j < positions; j++) {
      if (j > 0) {
        advance(rows);
      }
      SamplingRows rowSettings = sampling == null ? null : sampling[j];
      if (rowSettings != null && rowSettings.rows() != rows) {
        throw new IllegalArgumentException(
            "the step has " + rows + " rows; sampling settings for " + rowSettings.rows());
      }
      model.choose(rows, rowSettings, j);
    }
    model.readChosen(rows, positions, ids, logprobs);
    return rows;
  }

  /**
   * After a one-position {@link #executeChoosing}: the logits of {@code count} of its rows, read
   * back from the backend, each row r at r × vocabSize of the returned array (other rows are left
   * as they were). For steps in which some rows need the host's sampler.
   */
  public float[] logitsOfRows(int[] rows, int count) {
    int vocab = logits.vocabSize();
    int needed = 0;
    for (int i = 0; i < count; i++) {
      needed = Math.max(needed, rows[i] + 1);
    }
    logits.resize(needed);
    for (int i = 0; i < count; i++) {
      int at = rows[i] * vocab;
      backend.read(lastLogits, at, logits.array(), at, vocab);
    }
    return logits.array();
  }

  /**
   * The next position of a decode step: each sequence's input is the token chosen for it last,
   * which stays on the backend, one position further, in the slot after the last one written.
   * Nothing here waits for the backend: the host prepares a position while the device runs the one
   * before.
   */
  private void advance(int rows) {
    AttentionMetadata last = lastDecode;
    int[] seqLens = new int[rows];
    int[] slotMapping = new int[rows];
    for (int i = 0; i < rows; i++) {
      int length = last.seqLens()[i] + 1;
      SequenceGroup group = decodeOwners.get(i);
      checkPositions(group, length);
      seqLens[i] = length;
      slotMapping[i] = slot(last.blockTables()[i], length - 1, group, decodeSeqs.get(i).id());
      decoderPositions[i] = length - 1;
    }
    lastDecode =
        AttentionMetadata.decode(
            blockSize,
            seqLens,
            slotMapping,
            last.blockTables(),
            last.crossBlockTables(),
            last.crossSeqLens());
    runModel(lastDecode, rows, true);
  }

  private Logits run(ScheduledStep step, BlockSpaceManager blocks, boolean allPositions) {
    int rows = forward(step, blocks, allPositions);
    logits.resize(rows);
    if (rows > 0) {
      backend.read(lastLogits, 0, logits.array(), 0, rows * logits.vocabSize());
    }
    return logits;
  }

  /**
   * Applies the step's swaps and copies and runs the model; its logits are then in {@link
   * #lastLogits}.
   *
   * @return the number of logits rows (0 for a step without sequences, which runs nothing)
   */
  private int forward(ScheduledStep step, BlockSpaceManager blocks, boolean allPositions) {
    requireNonNull(step, "step is null");
    requireNonNull(blocks, "blocks is null");
    // Swap out before swapping in: a device block freed by a swap-out may be the target of a
    // swap-in in the same step. Copy-on-write copies read blocks already in place.
    if (!step.swapOut().isEmpty()) {
      backend.swapOut(step.swapOut());
    }
    if (!step.swapIn().isEmpty()) {
      backend.swapIn(step.swapIn());
    }
    if (!step.copies().isEmpty()) {
      backend.copyBlocks(step.copies());
    }
    AttentionMetadata metadata;
    int rows;
    if (step.prefill()) {
      metadata = packPrefill(step.groups(), blocks);
      rows = selectRows(metadata, allPositions);
    } else {
      metadata = packDecode(step.groups(), blocks);
      rows = selectRows(metadata, false);
      lastDecode = metadata;
    }
    if (metadata.numSequences() == 0) {
      return 0;
    }
    runModel(metadata, rows, false);
    return rows;
  }

  /**
   * The forward pass over the packed buffers (the decoder's tokens those chosen last, on the
   * backend, when {@code tokensChosen}); its logits are then in {@link #lastLogits}.
   */
  private void runModel(AttentionMetadata metadata, int rows, boolean tokensChosen) {
    lastLogits =
        model.forward(
            new StepInput(
                metadata,
                encoderTokens,
                encoderPositions,
                decoderTokens,
                decoderPositions,
                logitRows,
                rows,
                tokensChosen));
  }

  /** Fills logitRows: every decoder token, or the last token of each sequence. */
  private int selectRows(AttentionMetadata metadata, boolean allPositions) {
    if (allPositions) {
      int n = metadata.numDecoderTokens();
      for (int t = 0; t < n; t++) {
        logitRows[t] = t;
      }
      return n;
    }
    int end = 0;
    int[] lens = metadata.seqLens();
    for (int i = 0; i < lens.length; i++) {
      // prefill: sequence i's tokens end at the running sum; decode: one token per sequence
      end += metadata.prefill() ? lens[i] : 1;
      logitRows[i] = end - 1;
    }
    return lens.length;
  }

  private AttentionMetadata packPrefill(List<SequenceGroup> groups, BlockSpaceManager blocks) {
    checkSequenceCount(groups.size());
    int numEncoder = 0;
    int numDecoder = 0;
    List<Sequence> decoderSeqs = new ArrayList<>(groups.size());
    for (SequenceGroup group : groups) {
      Sequence decoder = singleRunning(group);
      decoderSeqs.add(decoder);
      numEncoder += encoderOf(group).length();
      numDecoder += decoder.length();
    }
    checkTokenCount("encoder", numEncoder);
    checkTokenCount("decoder", numDecoder);
    int[] encoderSeqLens = new int[groups.size()];
    int[] crossSlotMapping = new int[numEncoder];
    int[] seqLens = new int[groups.size()];
    int[] slotMapping = new int[numDecoder];
    int e = 0;
    int d = 0;
    for (int g = 0; g < groups.size(); g++) {
      SequenceGroup group = groups.get(g);
      Sequence encoder = encoderOf(group);
      int encoderLength = encoder.length();
      checkPositions(group, encoderLength);
      int[] crossTable = encoderLength > 0 ? blocks.getCrossBlockTable(group) : new int[0];
      for (int i = 0; i < encoderLength; i++, e++) {
        encoderTokens[e] = encoder.tokenAt(i);
        encoderPositions[e] = i;
        crossSlotMapping[e] = slot(crossTable, i, group, CROSS);
      }
      encoderSeqLens[g] = encoderLength;

      Sequence decoder = decoderSeqs.get(g);
      int length = decoder.length();
      checkPositions(group, length);
      int[] table = blocks.getBlockTable(decoder);
      for (int i = 0; i < length; i++, d++) {
        decoderTokens[d] = decoder.tokenAt(i);
        decoderPositions[d] = i;
        slotMapping[d] = slot(table, i, group, decoder.id());
      }
      seqLens[g] = length;
    }
    return AttentionMetadata.prefill(
        blockSize, encoderSeqLens, crossSlotMapping, seqLens, slotMapping);
  }

  private AttentionMetadata packDecode(List<SequenceGroup> groups, BlockSpaceManager blocks) {
    List<Sequence> running = decodeSeqs;
    List<SequenceGroup> owners = decodeOwners;
    running.clear();
    owners.clear();
    for (SequenceGroup group : groups) {
      for (Sequence seq : group.sequences(SequenceStatus.RUNNING)) {
        running.add(seq);
        owners.add(group);
      }
    }
    int n = running.size();
    checkSequenceCount(n);
    int[] seqLens = new int[n];
    int[] slotMapping = new int[n];
    int[][] blockTables = new int[n][];
    int[][] crossBlockTables = new int[n][];
    int[] crossSeqLens = new int[n];
    SequenceGroup previous = null;
    int[] crossTable = null;
    for (int i = 0; i < n; i++) {
      Sequence seq = running.get(i);
      SequenceGroup group = owners.get(i);
      int encoderLength = encoderOf(group).length();
      if (group != previous) {
        // one cross table per group, replicated for each of its sequences (beams included)
        crossTable = encoderLength > 0 ? blocks.getCrossBlockTable(group) : new int[0];
        previous = group;
      }
      int length = seq.length();
      checkPositions(group, length);
      int[] table = blocks.getBlockTable(seq);
      decoderTokens[i] = seq.lastToken();
      decoderPositions[i] = length - 1;
      slotMapping[i] = slot(table, length - 1, group, seq.id());
      seqLens[i] = length;
      blockTables[i] = table;
      crossBlockTables[i] = crossTable;
      crossSeqLens[i] = encoderLength;
    }
    return AttentionMetadata.decode(
        blockSize, seqLens, slotMapping, blockTables, crossBlockTables, crossSeqLens);
  }

  /** {@link #slot}'s sequence id for the group's cross table. */
  private static final long CROSS = -1;

  /**
   * The cache slot of {@code position} in {@code table}: the decoder sequence {@code seqId}'s, or
   * the group's cross table ({@link #CROSS}).
   */
  private int slot(int[] table, int position, SequenceGroup group, long seqId) {
    int block = position / blockSize;
    if (block >= table.length) {
      throw new IllegalStateException(
          "request "
              + group.requestId()
              + ": "
              + (seqId == CROSS ? "cross" : "sequence " + seqId)
              + " has "
              + table.length
              + " blocks of "
              + blockSize
              + " tokens, too few for position "
              + position);
    }
    return table[block] * blockSize + position % blockSize;
  }

  private static Sequence singleRunning(SequenceGroup group) {
    List<Sequence> running = group.sequences(SequenceStatus.RUNNING);
    if (running.size() != 1) {
      throw new IllegalArgumentException(
          "request "
              + group.requestId()
              + ": a prefill needs exactly one RUNNING decoder sequence, found "
              + running.size());
    }
    return running.getFirst();
  }

  private static Sequence encoderOf(SequenceGroup group) {
    Sequence encoder = group.encoderSequence();
    if (encoder == null) {
      throw new IllegalArgumentException(
          "request " + group.requestId() + " has no encoder input; this model needs one");
    }
    return encoder;
  }

  private void checkSequenceCount(int count) {
    if (count > limits.maxSequences()) {
      throw new IllegalArgumentException(
          "step has " + count + " sequences, more than maxSequences=" + limits.maxSequences());
    }
  }

  private void checkTokenCount(String what, int count) {
    if (count > limits.maxBatchedTokens()) {
      throw new IllegalArgumentException(
          "step has "
              + count
              + " "
              + what
              + " tokens, more than maxBatchedTokens="
              + limits.maxBatchedTokens());
    }
  }

  private void checkPositions(SequenceGroup group, int length) {
    if (length > maxPositions) {
      throw new IllegalArgumentException(
          "request "
              + group.requestId()
              + ": a sequence of "
              + length
              + " tokens exceeds the model's "
              + maxPositions
              + " positions");
    }
  }
}
