package dev.tandem.core.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class ConfigJsonTest {
  private static ConfigJson json(String text) {
    return ConfigJson.parse(text, "test/config.json");
  }

  @Test
  void typedAccessWithDefaults() {
    ConfigJson config =
        json(
            """
            {"d_model": 512, "layer_norm_epsilon": 1e-6, "tie_word_embeddings": false,
             "feed_forward_proj": "gated-gelu", "eos_token_id": [1, 2], "pad_token_id": 0,
             "forced_bos_token_id": null}
            """);
    assertEquals(512, config.getInt("d_model"));
    assertEquals(7, config.getInt("absent", 7));
    assertEquals(1e-6, config.getDouble("layer_norm_epsilon"));
    assertEquals(512.0, config.getDouble("d_model"));
    assertFalse(config.getBoolean("tie_word_embeddings", true));
    assertEquals("gated-gelu", config.getString("feed_forward_proj"));
    assertArrayEquals(new int[] {1, 2}, config.getIntArray("eos_token_id"));
    assertArrayEquals(new int[] {0}, config.getIntArray("pad_token_id"));
    assertFalse(config.has("forced_bos_token_id"), "null counts as absent");
    assertTrue(config.optInt("forced_bos_token_id").isEmpty());
    assertEquals(Optional.empty(), config.optString("absent"));
  }

  @Test
  void wrongTypeNamesFileKeyAndExpectation() {
    ConfigJson config = json("{\"d_model\": \"big\", \"eps\": 0.5}");
    CheckpointException e = assertThrows(CheckpointException.class, () -> config.getInt("d_model"));
    assertTrue(e.getMessage().contains("test/config.json"), e.getMessage());
    assertTrue(e.getMessage().contains("'d_model' must be an integer"), e.getMessage());
    assertThrows(CheckpointException.class, () -> config.getInt("eps"));
  }

  @Test
  void architectureFromArchitecturesOrModelType() {
    assertEquals("MarianMTModel", json("{\"architectures\": [\"MarianMTModel\"]}").architecture());
    assertEquals(
        "MBartForConditionalGeneration", json("{\"model_type\": \"mbart\"}").architecture());
    CheckpointException e =
        assertThrows(
            CheckpointException.class, () -> json("{\"model_type\": \"gpt2\"}").architecture());
    assertTrue(e.getMessage().contains("gpt2") && e.getMessage().contains("bart"), e.getMessage());
    assertThrows(CheckpointException.class, () -> json("{}").architecture());
  }

  @Test
  void generationConfigOverridesConfigJson() {
    ConfigJson config =
        json(
            """
            {"decoder_start_token_id": 2, "eos_token_id": 2, "pad_token_id": 1, "bos_token_id": 0,
             "forced_eos_token_id": 2, "num_beams": 4, "max_length": 142, "early_stopping": true}
            """);
    ConfigJson generation =
        ConfigJson.parse(
            """
            {"eos_token_id": [2, 3], "num_beams": 1, "max_new_tokens": 16,
             "early_stopping": "never", "length_penalty": 2.0}
            """,
            "test/generation_config.json");
    GenerationConfig merged = GenerationConfig.of(config, generation);
    assertEquals(2, merged.decoderStartTokenId());
    assertArrayEquals(new int[] {2, 3}, merged.eosTokenIds());
    assertTrue(merged.isEos(3));
    assertEquals(1, merged.numBeams());
    assertEquals(16, merged.maxNewTokens());
    assertEquals(142, merged.maxLength());
    assertEquals(2, merged.forcedEosTokenId());
    assertFalse(merged.earlyStopping());
    assertEquals(2.0, merged.lengthPenalty());

    GenerationConfig configOnly = GenerationConfig.of(config, null);
    assertEquals(4, configOnly.numBeams());
    assertTrue(configOnly.earlyStopping());
    assertNull(configOnly.maxNewTokens());
    assertEquals(configOnly, GenerationConfig.of(config, null));
  }

  @Test
  void generationFallbacksFollowHuggingFace() {
    GenerationConfig config =
        GenerationConfig.of(json("{\"bos_token_id\": 5, \"eos_token_id\": 7}"), null);
    assertEquals(5, config.decoderStartTokenId(), "decoder start falls back to BOS");
    assertEquals(7, config.padTokenId(), "pad falls back to the first EOS");
    assertEquals(0, config.minLength());
    assertEquals(1.0, config.lengthPenalty());

    CheckpointException e =
        assertThrows(
            CheckpointException.class,
            () -> GenerationConfig.of(json("{\"eos_token_id\": 1}"), null));
    assertTrue(e.getMessage().contains("'decoder_start_token_id'"), e.getMessage());
    assertTrue(e.getMessage().contains("test/config.json"), e.getMessage());
  }
}
