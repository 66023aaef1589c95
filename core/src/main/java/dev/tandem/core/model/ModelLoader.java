package dev.tandem.core.model;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.core.checkpoint.Checkpoint;
import dev.tandem.core.checkpoint.CheckpointException;
import dev.tandem.core.checkpoint.GenerationConfig;
import dev.tandem.core.model.bart.BartFamily;
import dev.tandem.core.model.t5.T5Family;
import dev.tandem.core.tokenizer.HuggingFaceTokenizer;
import dev.tandem.core.tokenizer.Tokenizer;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Loads HuggingFace encoder/decoder checkpoints: finds the family of config.json's architecture and
 * lets it upload the weights to the backend.
 */
public final class ModelLoader {

  /** The tokenizer file of a checkpoint directory. */
  public static final String TOKENIZER_FILE = "tokenizer.json";

  private static final System.Logger LOG = System.getLogger(ModelLoader.class.getName());

  /** The built-in families, in the order their architectures are listed. */
  private static final List<ModelFamily> FAMILIES = List.of(new T5Family(), new BartFamily());

  private ModelLoader() {}

  /** Every architecture some family loads, sorted. */
  public static List<String> supportedArchitectures() {
    return FAMILIES.stream().flatMap(f -> f.architectures().stream()).sorted().toList();
  }

  /** The family that loads {@code architecture}, if any. */
  public static Optional<ModelFamily> family(String architecture) {
    requireNonNull(architecture, "architecture is null");
    return FAMILIES.stream().filter(f -> f.architectures().contains(architecture)).findFirst();
  }

  /**
   * Builds the model of an open checkpoint on the backend.
   *
   * @throws CheckpointException for an unsupported architecture (listing the supported ones), a
   *     missing tensor or a tensor whose shape does not match the config (naming it)
   */
  public static EncoderDecoderModel loadModel(
      Checkpoint checkpoint, AttentionBackend backend, ModelLimits limits) {
    requireNonNull(checkpoint, "checkpoint is null");
    requireNonNull(backend, "backend is null");
    requireNonNull(limits, "limits is null");
    String architecture = checkpoint.config().architecture();
    ModelFamily family =
        family(architecture)
            .orElseThrow(
                () ->
                    new CheckpointException(
                        checkpoint.config().source()
                            + ": unsupported architecture "
                            + architecture
                            + "; supported: "
                            + supportedArchitectures()));
    EncoderDecoderModel model = family.load(checkpoint, backend, limits);
    LOG.log(
        Level.INFO,
        "loaded {0} ({1} family) on {2}: {3}",
        architecture,
        family.name(),
        backend.name(),
        model.spec());
    return model;
  }

  /**
   * Opens the checkpoint directory ({@code config.json}, {@code generation_config.json}, weights,
   * {@code tokenizer.json}) and builds its model on the backend. The weights are copied to the
   * backend, so the checkpoint is closed before this returns.
   */
  public static LoadedModel load(Path directory, AttentionBackend backend, ModelLimits limits) {
    requireNonNull(directory, "directory is null");
    try (Checkpoint checkpoint = Checkpoint.open(directory)) {
      GenerationConfig generation = checkpoint.generationConfig();
      if (!generation.notApplied().isEmpty()) {
        LOG.log(
            Level.WARNING,
            "{0}: generation settings Tandem does not apply, so its outputs can differ from"
                + " HuggingFace generate()''s: {1}",
            directory,
            String.join(", ", generation.notApplied()));
      }
      Tokenizer tokenizer = HuggingFaceTokenizer.load(directory.resolve(TOKENIZER_FILE));
      try {
        return new LoadedModel(loadModel(checkpoint, backend, limits), tokenizer, generation);
      } catch (RuntimeException e) {
        tokenizer.close();
        throw e;
      }
    }
  }
}
