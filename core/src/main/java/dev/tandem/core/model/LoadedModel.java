package dev.tandem.core.model;

import static java.util.Objects.requireNonNull;

import dev.tandem.core.checkpoint.GenerationConfig;
import dev.tandem.core.tokenizer.Tokenizer;

/**
 * A model on its backend with the checkpoint's tokenizer and generation defaults.
 *
 * @param tokenizer the checkpoint's tokenizer.json
 * @param generationConfig generation_config.json merged over config.json
 */
public record LoadedModel(
    EncoderDecoderModel model, Tokenizer tokenizer, GenerationConfig generationConfig)
    implements AutoCloseable {

  public LoadedModel {
    requireNonNull(model, "model is null");
    requireNonNull(tokenizer, "tokenizer is null");
    requireNonNull(generationConfig, "generationConfig is null");
  }

  /** Frees the model on its backend and the tokenizer's native resources. */
  @Override
  public void close() {
    try {
      model.close();
    } finally {
      tokenizer.close();
    }
  }
}
