package dev.tandem.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.core.checkpoint.Checkpoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A fixture's HuggingFace outputs (golden.json, golden.safetensors).
 *
 * @param hidden encoder_hidden [batch, maxInput, d]
 * @param logits teacher-forced logits [batch, steps, vocab]
 */
record Golden(
    Path dir,
    int[][] inputs,
    int[][] greedy,
    int minNewTokens,
    int maxNewTokens,
    float[] hidden,
    float[] logits,
    int dModel,
    int vocab)
    implements Expected {

  static Golden load(String fixture) {
    Path dir = Fixtures.fixture(fixture);
    JsonNode json = Fixtures.json(dir.resolve("golden.json"));
    JsonNode generation = json.get("generation");
    try (Checkpoint model = Checkpoint.open(dir);
        Checkpoint outputs = openOutputs(dir)) {
      return new Golden(
          dir,
          Fixtures.intRows(json.get("input_ids")),
          Fixtures.intRows(json.get("greedy_sequences")),
          generation.get("min_new_tokens").intValue(),
          generation.get("max_new_tokens").intValue(),
          outputs.floats("encoder_hidden"),
          outputs.floats("logits"),
          model.config().getInt("d_model"),
          model.config().getInt("vocab_size"));
    }
  }

  /**
   * golden.safetensors through the checkpoint reader, which opens directories: a temporary one
   * holding it (linked) as model.safetensors beside a minimal config.json.
   */
  static Checkpoint openOutputs(Path fixtureDir) {
    try {
      Path dir = Files.createTempDirectory("golden");
      dir.toFile().deleteOnExit();
      Path weights = dir.resolve(Checkpoint.WEIGHTS_FILE);
      Files.createSymbolicLink(weights, fixtureDir.resolve("golden.safetensors").toAbsolutePath());
      Files.writeString(dir.resolve(Checkpoint.CONFIG_FILE), "{}");
      weights.toFile().deleteOnExit();
      dir.resolve(Checkpoint.CONFIG_FILE).toFile().deleteOnExit();
      return Checkpoint.open(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  int batch() {
    return inputs.length;
  }

  int maxInput() {
    return hidden.length / batch() / dModel;
  }

  int steps() {
    return logits.length / batch() / vocab;
  }

  @Override
  public float hidden(int b, int t, int j) {
    return hidden[(b * maxInput() + t) * dModel + j];
  }

  @Override
  public float logit(int b, int t, int v) {
    return logits[(b * steps() + t) * vocab + v];
  }
}
