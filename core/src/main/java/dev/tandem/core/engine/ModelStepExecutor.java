package dev.tandem.core.engine;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.SamplingRows;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.core.model.EncoderDecoderModel;
import dev.tandem.core.runner.ModelRunner;
import dev.tandem.core.runner.ScheduledStep;

/** Runs the engine's steps through a {@link ModelRunner}; owns the model and its backend. */
public final class ModelStepExecutor implements StepExecutor {

  private final ModelRunner runner;
  private final BlockSpaceManager blocks;
  private final AttentionBackend backend;

  /**
   * @param runner the runner over the model (its KV cache already allocated)
   * @param blocks the block manager whose tables describe that cache
   * @param backend the backend to close with the model, or null to leave it open
   */
  public ModelStepExecutor(ModelRunner runner, BlockSpaceManager blocks, AttentionBackend backend) {
    this.runner = requireNonNull(runner, "runner is null");
    this.blocks = requireNonNull(blocks, "blocks is null");
    this.backend = backend;
  }

  @Override
  public String device() {
    EncoderDecoderModel model = runner.model();
    return model.backend().name() + ": " + model.backend().deviceName();
  }

  @Override
  public int vocabSize() {
    return runner.model().spec().vocabSize();
  }

  @Override
  public float[] execute(SchedulerOutput step) {
    return runner.execute(scheduled(step), blocks).array();
  }

  @Override
  public boolean samplesOnDevice() {
    return runner.model().backend().samplesOnDevice();
  }

  @Override
  public boolean supportsMultiStep() {
    return true;
  }

  /** Decides the tokens on the model's backend: only two values per row come back. */
  @Override
  public boolean executeChoosing(
      SchedulerOutput step, int positions, SamplingRows[] sampling, int[] ids, float[] logprobs) {
    runner.executeChoosing(scheduled(step), blocks, positions, sampling, ids, logprobs);
    return true;
  }

  @Override
  public float[] logitsOfRows(int[] rows, int count) {
    return runner.logitsOfRows(rows, count);
  }

  private static ScheduledStep scheduled(SchedulerOutput step) {
    return new ScheduledStep(
        step.prefill(), step.groups(), step.swapIn(), step.swapOut(), step.copies());
  }

  public EncoderDecoderModel model() {
    return runner.model();
  }

  /** Frees the model's weights and buffers, then the backend with its KV cache. */
  @Override
  public void close() {
    try {
      runner.model().close();
    } finally {
      if (backend != null) {
        backend.close();
      }
    }
  }
}
