package dev.tandem.core.model.layers;

import dev.tandem.api.backend.Activation;
import dev.tandem.core.checkpoint.CheckpointException;
import java.util.Map;

/** HuggingFace's activation names (ACT2FN keys) mapped to the backend's activations. */
public final class Activations {

  private static final Map<String, Activation> BY_NAME =
      Map.of(
          "relu", Activation.RELU,
          "gelu", Activation.GELU,
          "gelu_new", Activation.GELU_TANH,
          "gelu_pytorch_tanh", Activation.GELU_TANH,
          "silu", Activation.SILU,
          "swish", Activation.SILU);

  private Activations() {}

  /**
   * @param where names the config and key in the error, e.g. "config.json activation_function"
   */
  public static Activation fromHuggingFace(String name, String where) {
    Activation activation = BY_NAME.get(name);
    if (activation == null) {
      throw new CheckpointException(
          where
              + ": unsupported activation '"
              + name
              + "'; supported: "
              + BY_NAME.keySet().stream().sorted().toList());
    }
    return activation;
  }
}
