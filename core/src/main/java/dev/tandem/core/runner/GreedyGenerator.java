package dev.tandem.core.runner;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.block.AllocStatus;
import dev.tandem.api.block.BlockMapping;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.api.sequence.SequenceStatus;
import dev.tandem.core.checkpoint.GenerationConfig;
import dev.tandem.core.model.ModelLimits;
import java.util.ArrayList;
import java.util.List;

/**
 * Greedy decoding of a static batch, as HuggingFace's {@code generate()} with {@code do_sample}
 * false and one beam: every prompt is prefilled (in steps within the model's limits), then all
 * unfinished sequences advance one token per decode step until each has produced EOS or {@code
 * maxNewTokens} tokens. HuggingFace's logits processors are applied in its order: EOS is suppressed
 * while fewer than {@code minNewTokens} tokens exist (given, it replaces min_length, as in
 * HuggingFace), then forced_bos_token_id is forced at the first step and forced_eos_token_id at the
 * last one. The KV cache must hold the whole batch: this is not a scheduler and never preempts.
 */
public final class GreedyGenerator {

  private final ModelRunner runner;
  private final BlockSpaceManager blocks;
  private final GenerationConfig generation;
  private long nextSequenceId;

  public GreedyGenerator(
      ModelRunner runner, BlockSpaceManager blocks, GenerationConfig generation) {
    this.runner = requireNonNull(runner, "runner is null");
    this.blocks = requireNonNull(blocks, "blocks is null");
    this.generation = requireNonNull(generation, "generation is null");
    if (generation.repetitionPenalty() != 1 || generation.noRepeatNgramSize() > 0) {
      throw new IllegalArgumentException(
          "greedy static-batch decoding applies min_new_tokens, min_length and forced BOS/EOS"
              + " only, but the generation config also sets repetition_penalty="
              + generation.repetitionPenalty()
              + ", no_repeat_ngram_size="
              + generation.noRepeatNgramSize()
              + "; decode with the engine's sampler instead");
    }
  }

  /**
   * Generates for each encoder prompt.
   *
   * @return per prompt, the decoder sequence: the decoder start token, then the generated tokens
   *     (ending with EOS when one was produced)
   */
  public List<int[]> generate(List<int[]> prompts, int maxNewTokens, int minNewTokens) {
    requireNonNull(prompts, "prompts is null");
    if (maxNewTokens < 1 || minNewTokens < 0) {
      throw new IllegalArgumentException(
          "maxNewTokens=" + maxNewTokens + " must be >= 1, minNewTokens=" + minNewTokens + " >= 0");
    }
    List<SequenceGroup> groups = new ArrayList<>(prompts.size());
    for (int[] prompt : prompts) {
      Sequence encoder = new Sequence(nextSequenceId++, prompt);
      Sequence decoder =
          new Sequence(nextSequenceId++, new int[] {generation.decoderStartTokenId()});
      groups.add(
          new SequenceGroup(
              "greedy-" + decoder.id(),
              encoder,
              List.of(decoder),
              System.nanoTime(),
              SamplingParams.greedy()));
    }
    Stepper stepper = new Stepper(maxNewTokens, minNewTokens);
    ModelLimits limits = runner.model().limits();
    int maxSequences = limits.maxSequences();
    try {
      for (List<SequenceGroup> chunk : prefillChunks(groups, limits)) {
        for (SequenceGroup group : chunk) {
          allocate(group);
        }
        stepper.step(ScheduledStep.prefill(chunk));
      }
      List<SequenceGroup> unfinished = unfinished(groups);
      while (!unfinished.isEmpty()) {
        for (List<SequenceGroup> chunk : chunks(unfinished, maxSequences)) {
          stepper.step(ScheduledStep.decode(chunk, stepper.takeCopies()));
        }
        unfinished = unfinished(groups);
      }
    } finally {
      for (SequenceGroup group : groups) {
        release(group);
      }
    }
    List<int[]> outputs = new ArrayList<>(groups.size());
    for (SequenceGroup group : groups) {
      outputs.add(group.sequences().getFirst().tokenIds());
    }
    return outputs;
  }

  /** Runs steps and turns their logits into tokens. */
  private final class Stepper {
    private final int maxNewTokens;
    private final int minNewTokens;
    private final int maxLength; // HuggingFace's max_length: decoder start + new tokens
    private final List<BlockMapping> copies = new ArrayList<>();

    Stepper(int maxNewTokens, int minNewTokens) {
      this.maxNewTokens = maxNewTokens;
      this.minNewTokens = minNewTokens;
      this.maxLength = 1 + maxNewTokens;
    }

    void step(ScheduledStep step) {
      Logits logits = runner.execute(step, blocks);
      int row = 0;
      for (SequenceGroup group : step.groups()) {
        for (Sequence seq : group.sequences(SequenceStatus.RUNNING)) {
          int token = nextToken(logits, row++, seq);
          seq.appendToken(token, 0);
          if (generation.isEos(token)) {
            finish(group, seq, SequenceStatus.FINISHED_STOPPED);
          } else if (seq.outputLength() >= maxNewTokens) {
            finish(group, seq, SequenceStatus.FINISHED_LENGTH_CAPPED);
          } else {
            if (!blocks.canAppendSlots(group, 0)) {
              throw new IllegalStateException(
                  "KV cache too small for this static batch: no block free for request "
                      + group.requestId()
                      + "; use fewer prompts or more blocks");
            }
            copies.addAll(blocks.appendSlots(seq, 0));
          }
        }
      }
    }

    List<BlockMapping> takeCopies() {
      List<BlockMapping> taken = List.copyOf(copies);
      copies.clear();
      return taken;
    }

    private int nextToken(Logits logits, int row, Sequence seq) {
      int length = seq.length();
      Integer forcedBos = generation.forcedBosTokenId();
      Integer forcedEos = generation.forcedEosTokenId();
      // Forcing comes after EOS suppression in HuggingFace's processor list, so it wins.
      if (forcedEos != null && length == maxLength - 1) {
        return forcedEos;
      }
      if (forcedBos != null && length == 1) {
        return forcedBos;
      }
      if (seq.outputLength() < minNewTokens) {
        for (int eos : generation.eosTokenIds()) {
          logits.set(row, eos, Float.NEGATIVE_INFINITY);
        }
      }
      return logits.argmax(row);
    }

    private void finish(SequenceGroup group, Sequence seq, SequenceStatus status) {
      seq.setStatus(status);
      blocks.free(seq);
      if (group.isFinished() && group.encoderSequence().length() > 0) {
        blocks.freeCross(group);
      }
    }
  }

  private void allocate(SequenceGroup group) {
    AllocStatus status = blocks.canAllocate(group);
    if (status != AllocStatus.OK) {
      throw new IllegalStateException(
          "KV cache too small for this static batch: request "
              + group.requestId()
              + " cannot be allocated ("
              + status
              + "); use fewer prompts or more blocks");
    }
    blocks.allocate(group);
    for (Sequence seq : group.sequences()) {
      seq.setStatus(SequenceStatus.RUNNING);
    }
  }

  /** Frees what an interrupted run left allocated. */
  private void release(SequenceGroup group) {
    boolean allocated = false;
    for (Sequence seq : group.sequences()) {
      if (seq.status() == SequenceStatus.RUNNING) {
        seq.setStatus(SequenceStatus.FINISHED_ABORTED);
        blocks.free(seq);
        allocated = true;
      }
    }
    if (allocated && group.encoderSequence().length() > 0) {
      blocks.freeCross(group);
    }
  }

  private static List<SequenceGroup> unfinished(List<SequenceGroup> groups) {
    return groups.stream().filter(g -> !g.isFinished()).toList();
  }

  /**
   * Consecutive groups whose prefill fits one step: at most maxSequences groups and
   * maxBatchedTokens encoder tokens (a single longer prompt is left to the runner to refuse).
   */
  private static List<List<SequenceGroup>> prefillChunks(
      List<SequenceGroup> groups, ModelLimits limits) {
    List<List<SequenceGroup>> chunks = new ArrayList<>();
    int start = 0;
    int tokens = 0;
    for (int i = 0; i < groups.size(); i++) {
      int length = groups.get(i).encoderSequence().length();
      boolean full =
          i - start == limits.maxSequences() || tokens + length > limits.maxBatchedTokens();
      if (full && i > start) {
        chunks.add(groups.subList(start, i));
        start = i;
        tokens = 0;
      }
      tokens += length;
    }
    if (start < groups.size()) {
      chunks.add(groups.subList(start, groups.size()));
    }
    return chunks;
  }

  private static List<List<SequenceGroup>> chunks(List<SequenceGroup> groups, int size) {
    List<List<SequenceGroup>> chunks = new ArrayList<>();
    for (int i = 0; i < groups.size(); i += size) {
      chunks.add(groups.subList(i, Math.min(groups.size(), i + size)));
    }
    return chunks;
  }
}
