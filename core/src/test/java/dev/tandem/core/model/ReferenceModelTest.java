package dev.tandem.core.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.core.checkpoint.Checkpoint;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/** The test-side reference forward reproduces HuggingFace's fixture outputs: it can be trusted. */
class ReferenceModelTest {

  @ParameterizedTest
  @FieldSource("dev.tandem.core.checkpoint.Fixtures#HUGGING_FACE")
  void matchesHuggingFace(String name) {
    Path dir = Fixtures.fixture(name);
    JsonNode golden = Fixtures.json(dir.resolve("golden.json"));
    int[][] inputs = Fixtures.intRows(golden.get("input_ids"));
    int[][] decoderInputs = Fixtures.intRows(golden.get("greedy_sequences"));
    try (Checkpoint model = Checkpoint.open(dir);
        Checkpoint expected = Golden.openOutputs(dir)) {
      ReferenceModel reference = new ReferenceModel(model);
      int d = model.config().getInt("d_model");
      int vocab = model.config().getInt("vocab_size");
      float[] hidden = expected.floats("encoder_hidden");
      float[] logits = expected.floats("logits");
      int maxInput = hidden.length / inputs.length / d;
      int steps = logits.length / inputs.length / vocab;
      double worstHidden = 0;
      double worstLogit = 0;
      for (int b = 0; b < inputs.length; b++) {
        float[][] enc = reference.encode(inputs[b]);
        for (int t = 0; t < inputs[b].length; t++) {
          for (int j = 0; j < d; j++) {
            worstHidden =
                Math.max(worstHidden, Math.abs(enc[t][j] - hidden[(b * maxInput + t) * d + j]));
          }
        }
        float[][] out = reference.decode(decoderInputs[b], enc);
        for (int t = 0; t < steps; t++) {
          for (int v = 0; v < vocab; v++) {
            worstLogit =
                Math.max(worstLogit, Math.abs(out[t][v] - logits[(b * steps + t) * vocab + v]));
          }
        }
      }
      System.out.printf(
          "reference %s: max |Δ| encoder hidden %.2e, logits %.2e%n",
          name, worstHidden, worstLogit);
      assertTrue(worstHidden < 1e-4, "encoder hidden differs by " + worstHidden);
      assertTrue(worstLogit < 1e-4, "logits differ by " + worstLogit);
    }
  }
}
