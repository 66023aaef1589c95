package dev.tandem.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.backend.BackendConfig;
import dev.tandem.core.checkpoint.Checkpoint;
import dev.tandem.core.checkpoint.CheckpointException;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the loader reports for checkpoints it cannot load, and what it reads from good ones. */
class ModelLoaderTest {

  private static final ModelLimits LIMITS = new ModelLimits(64, 4);

  @TempDir Path dir;
  private AttentionBackend backend;

  @BeforeEach
  void createBackend() {
    AttentionBackendProvider provider = Providers.backends().getFirst();
    backend = provider.create(BackendConfig.defaults());
  }

  @AfterEach
  void closeBackend() {
    backend.close();
  }

  private CheckpointException loadFails(TinyCheckpoints checkpoint) {
    checkpoint.write(dir);
    try (Checkpoint opened = Checkpoint.open(dir)) {
      return assertThrows(
          CheckpointException.class, () -> ModelLoader.loadModel(opened, backend, LIMITS));
    }
  }

  @Test
  void unknownArchitectureListsTheSupportedOnes() {
    CheckpointException e =
        loadFails(TinyCheckpoints.mbart().with("architectures", List.of("GPT2LMHeadModel")));
    assertTrue(e.getMessage().contains("unsupported architecture GPT2LMHeadModel"), e.getMessage());
    for (String supported : ModelLoader.supportedArchitectures()) {
      assertTrue(e.getMessage().contains(supported), e.getMessage());
    }
    assertEquals(
        List.of(
            "BartForConditionalGeneration",
            "MBartForConditionalGeneration",
            "MT5ForConditionalGeneration",
            "MarianMTModel",
            "T5ForConditionalGeneration"),
        ModelLoader.supportedArchitectures());
  }

  @Test
  void shapeMismatchNamesTheTensor() {
    String name = "decoder.block.2.layer.1.EncDecAttention.k.weight";
    CheckpointException e = loadFails(TinyCheckpoints.flanT5("gated-gelu").reshaped(name, 24, 31));
    assertTrue(e.getMessage().contains(name), e.getMessage());
    assertTrue(e.getMessage().contains("[24, 31]"), e.getMessage());
    assertTrue(e.getMessage().contains("[24, 32]"), e.getMessage());
  }

  @Test
  void missingTensorIsNamed() {
    String name = "model.decoder.layers.1.encoder_attn_layer_norm.bias";
    CheckpointException e = loadFails(TinyCheckpoints.mbart().without(name));
    assertTrue(e.getMessage().contains(name), e.getMessage());
  }

  @Test
  void missingTiedEmbeddingNamesEveryCandidate() {
    CheckpointException e = loadFails(TinyCheckpoints.marian().without("model.shared.weight"));
    assertTrue(e.getMessage().contains("model.shared.weight"), e.getMessage());
    assertTrue(e.getMessage().contains("model.encoder.embed_tokens.weight"), e.getMessage());
  }

  @Test
  void unsupportedActivationListsTheSupportedOnes() {
    CheckpointException e = loadFails(TinyCheckpoints.marian().with("activation_function", "elu"));
    assertTrue(e.getMessage().contains("unsupported activation 'elu'"), e.getMessage());
    assertTrue(e.getMessage().contains("swish"), e.getMessage());
  }

  @Test
  void specDescribesTheCacheShape() {
    TinyCheckpoints.flanT5("gated-gelu").write(dir);
    try (Checkpoint checkpoint = Checkpoint.open(dir);
        EncoderDecoderModel model = ModelLoader.loadModel(checkpoint, backend, LIMITS)) {
      ModelSpec spec = model.spec();
      assertEquals("T5ForConditionalGeneration", spec.architecture());
      assertEquals(TinyCheckpoints.VOCAB, spec.vocabSize());
      assertEquals(3, spec.numDecoderLayers());
      assertEquals(3, spec.numHeads());
      assertEquals(8, spec.headDim());
      assertEquals(OptionalInt.empty(), spec.maxPositions());
      assertEquals(List.of(1), spec.eosTokenIds());
    }
    TinyCheckpoints.mbart().write(dir);
    try (Checkpoint checkpoint = Checkpoint.open(dir);
        EncoderDecoderModel model = ModelLoader.loadModel(checkpoint, backend, LIMITS)) {
      ModelSpec spec = model.spec();
      assertEquals(2, spec.numHeads()); // the decoder's heads, not the encoder's 4
      assertEquals(16, spec.headDim());
      assertEquals(OptionalInt.of(64), spec.maxPositions());
    }
  }
}
