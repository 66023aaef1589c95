package dev.tandem.core.engine;

import dev.tandem.api.backend.SamplingRows;
import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockMapping;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.block.BlockSpaceManagerProvider;
import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.api.sequence.SequenceStatus;
import dev.tandem.core.checkpoint.GenerationConfig;
import dev.tandem.core.config.PreemptionMode;
import dev.tandem.core.sampling.ReferenceDraw;
import dev.tandem.core.sampling.SampledToken;
import dev.tandem.core.sampling.Sampler;
import dev.tandem.core.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.ServiceLoader;
import java.util.SplittableRandom;

/**
 * A toy model for engine tests whose "KV cache" stores token ids: prefill writes the encoder tokens
 * into the cross blocks and the decoder tokens into the self blocks, decode writes each new token
 * into its slot, and the logits are a seeded function of the tokens read back through the block
 * tables. Wrong tables, swaps or copies therefore change the outputs, as they would with a real
 * model, at a fraction of the cost.
 */
final class ToyModel implements StepExecutor {

  static final int EOS = 1;
  static final int DECODER_START = 0;

  private final int vocabSize;
  private final BlockSpaceManager blocks;
  private final int blockSize;
  private final int[] gpu;
  private final int[] cpu;
  private final float[] logits;
  private boolean closed;
  private int stepMillis;
  private Sampler device; // when set, tokens are chosen "on the device": see executeChoosing
  int greedySteps; // steps executeChoosing decided greedily
  int sampledSteps; // and with sampling rows
  int mixedSteps; // steps whose other rows the host decided from logitsOfRows

  ToyModel(int vocabSize, BlockSpaceManager blocks, BlockManagerConfig cache, int maxRows) {
    this.vocabSize = vocabSize;
    this.blocks = blocks;
    this.blockSize = cache.blockSize();
    this.gpu = new int[cache.numGpuBlocks() * blockSize];
    this.cpu = new int[cache.numCpuBlocks() * blockSize];
    this.logits = new float[maxRows * vocabSize];
  }

  /** An engine over a toy model, a toy tokenizer and the named block manager. */
  /**
   * Three threads sample each step's rows (in uneven chunks), so the behaviour tests (seeded
   * sampling across batch compositions, the soak) also cover the parallel split.
   */
  private static final int SAMPLING_THREADS = 3;

  static Engine engine(
      String blockManager,
      int numGpuBlocks,
      int numCpuBlocks,
      PreemptionMode preemption,
      int maxNumSeqs,
      int maxModelLen) {
    return assemble(
            blockManager, numGpuBlocks, numCpuBlocks, preemption, maxNumSeqs, maxModelLen, false, 1)
        .engine();
  }

  /** An engine and the toy model it runs. */
  record Assembled(Engine engine, ToyModel model) {}

  /**
   * As {@link #engine}; with {@code choosesOnDevice} the model also takes the steps whose tokens
   * the engine lets a backend choose ({@link #executeChoosing}), up to {@code numSchedulerSteps}
   * positions at a time.
   */
  static Assembled assemble(
      String blockManager,
      int numGpuBlocks,
      int numCpuBlocks,
      PreemptionMode preemption,
      int maxNumSeqs,
      int maxModelLen,
      boolean choosesOnDevice,
      int numSchedulerSteps) {
    BlockManagerConfig cache = new BlockManagerConfig(4, numGpuBlocks, numCpuBlocks, 0.0, false);
    BlockSpaceManager blocks = blockManager(blockManager).create(cache);
    int vocab = 64;
    ToyModel model = new ToyModel(vocab, blocks, cache, maxNumSeqs);
    if (choosesOnDevice) {
      model.device = ReferenceDraw.sampler(vocab);
    }
    Engine engine =
        new Engine(
            new EngineParts(
                model,
                blocks,
                cache,
                new ToyTokenizer(vocab),
                generationConfig(),
                maxModelLen,
                maxNumSeqs,
                1024,
                preemption,
                SAMPLING_THREADS,
                numSchedulerSteps));
    return new Assembled(engine, model);
  }

  /** An engine over a toy model that takes {@code stepMillis} per step, for timing tests. */
  static Engine slowEngine(int stepMillis) {
    BlockManagerConfig cache = new BlockManagerConfig(4, 200, 100, 0.0, false);
    BlockSpaceManager blocks =
        blockManager(blockManagers().findFirst().orElseThrow()).create(cache);
    ToyModel model = new ToyModel(64, blocks, cache, 8);
    model.stepMillis = stepMillis;
    return new Engine(
        new EngineParts(
            model,
            blocks,
            cache,
            new ToyTokenizer(64),
            generationConfig(),
            128,
            8,
            1024,
            PreemptionMode.RECOMPUTE,
            1,
            1));
  }

  /** Names of the block managers available here: each behaviour test runs against each. */
  static java.util.stream.Stream<String> blockManagers() {
    return ServiceLoader.load(BlockSpaceManagerProvider.class).stream()
        .map(ServiceLoader.Provider::get)
        .filter(p -> p.availability().available())
        .map(BlockSpaceManagerProvider::name)
        .sorted();
  }

  static BlockSpaceManagerProvider blockManager(String name) {
    return ServiceLoader.load(BlockSpaceManagerProvider.class).stream()
        .map(ServiceLoader.Provider::get)
        .filter(p -> p.name().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no block manager " + name));
  }

  static GenerationConfig generationConfig() {
    return new GenerationConfig(
        DECODER_START,
        new int[] {EOS},
        0,
        null,
        null,
        null,
        null,
        24,
        0,
        null,
        1,
        1.0,
        false,
        false,
        1.0,
        50,
        1.0,
        1.0,
        0,
        List.of(),
        List.of());
  }

  @Override
  public int vocabSize() {
    return vocabSize;
  }

  @Override
  public float[] execute(SchedulerOutput step) {
    if (stepMillis > 0) {
      try {
        Thread.sleep(stepMillis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    for (BlockMapping m : step.swapOut()) {
      System.arraycopy(gpu, m.src() * blockSize, cpu, m.dst() * blockSize, blockSize);
    }
    for (BlockMapping m : step.swapIn()) {
      System.arraycopy(cpu, m.src() * blockSize, gpu, m.dst() * blockSize, blockSize);
    }
    for (BlockMapping m : step.copies()) {
      System.arraycopy(gpu, m.src() * blockSize, gpu, m.dst() * blockSize, blockSize);
    }
    int row = 0;
    for (SequenceGroup group : step.groups()) {
      Sequence encoder = group.encoderSequence();
      int[] cross = blocks.getCrossBlockTable(group);
      if (step.prefill()) {
        write(cross, encoder.tokenIds(), 0);
      }
      int[] encoderRead = read(cross, encoder.length());
      for (Sequence seq : group.sequences(SequenceStatus.RUNNING)) {
        int[] table = blocks.getBlockTable(seq);
        if (step.prefill()) {
          write(table, seq.tokenIds(), 0);
        } else {
          write(table, new int[] {seq.lastToken()}, seq.length() - 1);
        }
        fill(row++, encoderRead, read(table, seq.length()));
      }
    }
    return logits;
  }

  @Override
  public boolean samplesOnDevice() {
    return device != null;
  }

  @Override
  public boolean supportsMultiStep() {
    return device != null;
  }

  /**
   * What a backend's {@code greedy} and {@code sample} do, from the logits and the rows' settings
   * the engine hands over: each row through the host Sampler (no token rules: the engine sends only
   * rows without any), drawing with the engine's uniform number. Tokens therefore equal the host
   * path's exactly when the engine draws the same numbers in the same order. Later positions of a
   * multi-step decode write each row's chosen token into its next slot and read the sequence back
   * through its block table, as {@link #execute} does.
   */
  @Override
  public boolean executeChoosing(
      SchedulerOutput step,
      int positions,
      SamplingRows[] rowSettings,
      int[] ids,
      float[] logprobs) {
    if (device == null) {
      return false;
    }
    execute(step);
    List<Sequence> rowSeqs = new ArrayList<>();
    List<int[]> encoders = new ArrayList<>();
    for (SequenceGroup group : step.groups()) {
      int[] encoder = read(blocks.getCrossBlockTable(group), group.encoderSequence().length());
      for (Sequence seq : group.sequences(SequenceStatus.RUNNING)) {
        rowSeqs.add(seq);
        encoders.add(encoder);
      }
    }
    int rows = rowSeqs.size();
    for (int j = 0; j < positions; j++) {
      for (int r = 0; j > 0 && r < rows; r++) {
        Sequence seq = rowSeqs.get(r);
        int[] table = blocks.getBlockTable(seq);
        write(table, new int[] {ids[(j - 1) * rows + r]}, seq.length() - 1 + j);
        fill(r, encoders.get(r), read(table, seq.length() + j));
      }
      SamplingRows sampling = rowSettings == null ? null : rowSettings[j];
      for (int r = 0; r < rows; r++) {
        SampledToken token =
            sampling == null
                ? ReferenceDraw.draw(device, logits, r, SamplingParams.greedy(), 0)
                : ReferenceDraw.draw(
                    device,
                    logits,
                    r,
                    ReferenceDraw.params(sampling, r, 1, 1),
                    sampling.uniform(r));
        ids[j * rows + r] = token.token();
        logprobs[j * rows + r] = (float) token.logprob();
      }
    }
    if (rowSettings == null) {
      greedySteps++;
    } else {
      sampledSteps++;
    }
    return true;
  }

  /** The logits {@link #executeChoosing} left: every row's, as {@link #execute} computes them. */
  @Override
  public float[] logitsOfRows(int[] rows, int count) {
    mixedSteps++;
    return logits;
  }

  private void write(int[] table, int[] tokens, int from) {
    for (int i = 0; i < tokens.length; i++) {
      int pos = from + i;
      gpu[table[pos / blockSize] * blockSize + pos % blockSize] = tokens[i];
    }
  }

  private int[] read(int[] table, int length) {
    int[] tokens = new int[length];
    for (int pos = 0; pos < length; pos++) {
      tokens[pos] = gpu[table[pos / blockSize] * blockSize + pos % blockSize];
    }
    return tokens;
  }

  /** Seeded logits of (encoder, decoder); EOS grows likelier with length. */
  private void fill(int row, int[] encoder, int[] decoder) {
    SplittableRandom random =
        new SplittableRandom(Arrays.hashCode(encoder) * 1_000_003L + Arrays.hashCode(decoder));
    int offset = row * vocabSize;
    for (int i = 0; i < vocabSize; i++) {
      logits[offset + i] = (float) (random.nextGaussian() * 2);
    }
    logits[offset + EOS] += 0.25f * decoder.length - 1.5f;
  }

  @Override
  public void close() {
    closed = true;
  }

  boolean closed() {
    return closed;
  }

  /** Words "w<id>" separated by spaces; ids 0..2 are special. */
  static final class ToyTokenizer implements Tokenizer {
    private final int vocabSize;

    ToyTokenizer(int vocabSize) {
      this.vocabSize = vocabSize;
    }

    @Override
    public int[] encode(String text, boolean addSpecialTokens) {
      String[] words = text.trim().isEmpty() ? new String[0] : text.trim().split("\\s+");
      int[] ids = new int[words.length + (addSpecialTokens ? 1 : 0)];
      for (int i = 0; i < words.length; i++) {
        ids[i] = 3 + Math.floorMod(words[i].hashCode(), vocabSize - 3);
      }
      if (addSpecialTokens) {
        ids[words.length] = EOS;
      }
      return ids;
    }

    @Override
    public String decode(int[] ids, boolean skipSpecialTokens) {
      StringBuilder text = new StringBuilder();
      for (int id : ids) {
        if (skipSpecialTokens && isSpecial(id)) {
          continue;
        }
        text.append(text.isEmpty() ? "" : " ").append('w').append(id);
      }
      return text.toString();
    }

    @Override
    public int vocabSize() {
      return vocabSize;
    }

    @Override
    public OptionalInt tokenToId(String token) {
      return OptionalInt.empty();
    }

    @Override
    public Optional<String> idToToken(int id) {
      return Optional.of("w" + id);
    }

    @Override
    public boolean isSpecial(int id) {
      return id < 3;
    }

    @Override
    public void close() {}
  }
}
