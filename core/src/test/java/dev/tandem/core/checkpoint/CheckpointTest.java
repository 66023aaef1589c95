package dev.tandem.core.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {
  @TempDir Path tmp;

  @Test
  void loadsT5TinyFixture() {
    try (Checkpoint checkpoint = Checkpoint.open(Fixtures.fixture("t5-tiny"))) {
      ConfigJson config = checkpoint.config();
      assertEquals("T5ForConditionalGeneration", config.architecture());
      assertEquals("t5", config.modelType());
      int vocab = config.getInt("vocab_size");
      int dModel = config.getInt("d_model");
      TensorInfo shared = checkpoint.info("shared.weight");
      assertEquals(DType.F32, shared.dtype());
      assertArrayEquals(new long[] {vocab, dModel}, shared.shape());
      assertTrue(
          checkpoint.has("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"));
      assertArrayEquals(
          new long[] {config.getInt("relative_attention_num_buckets"), config.getInt("num_heads")},
          checkpoint
              .info("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight")
              .shape());
      // Tied: only shared.weight is stored; no alias is invented for lm_head.
      assertFalse(checkpoint.has("lm_head.weight"));

      GenerationConfig generation = checkpoint.generationConfig();
      assertEquals(0, generation.decoderStartTokenId());
      assertArrayEquals(new int[] {1}, generation.eosTokenIds());
      assertEquals(0, generation.padTokenId());
      assertEquals(16, generation.maxNewTokens());
      assertNull(generation.forcedEosTokenId());
      assertEquals(1, generation.numBeams());
    }
  }

  @Test
  void floatsMatchAnIndependentReadOfTheFile() throws IOException {
    Path file = Fixtures.fixture("t5-tiny").resolve("model.safetensors");
    String name = "encoder.block.1.layer.1.DenseReluDense.wo.weight";
    float[] expected = readF32ByHand(file, name);
    try (Checkpoint checkpoint = Checkpoint.open(file.getParent())) {
      long[] shape = checkpoint.info(name).shape();
      assertArrayEquals(expected, checkpoint.floats(name, shape));
    }
  }

  @Test
  void loadsBartTinyWithGenerationKeysFromConfigJson() {
    try (Checkpoint checkpoint = Checkpoint.open(Fixtures.fixture("bart-tiny"))) {
      assertEquals("BartForConditionalGeneration", checkpoint.config().architecture());
      int vocab = checkpoint.config().getInt("vocab_size");
      int dModel = checkpoint.config().getInt("d_model");
      assertArrayEquals(new long[] {vocab, dModel}, checkpoint.info("model.shared.weight").shape());
      assertArrayEquals(new long[] {1, vocab}, checkpoint.info("final_logits_bias").shape());
      GenerationConfig generation = checkpoint.generationConfig();
      assertEquals(2, generation.decoderStartTokenId());
      assertArrayEquals(new int[] {2}, generation.eosTokenIds());
      assertEquals(1, generation.padTokenId());
      assertEquals(0, generation.bosTokenId());
      // Only config.json sets forced_eos_token_id; HuggingFace applies it.
      assertEquals(2, generation.forcedEosTokenId());
      assertEquals(16, generation.maxNewTokens());
      assertEquals(List.of(), generation.notApplied());
    }
  }

  /**
   * BART-CNN's and Marian's kind of settings: the applied ones are read (bad_words_ids from
   * config.json, as older Marian files keep it), the others listed with their values; a setting at
   * its "off" value (1 and 1.0 alike) or null is not listed.
   */
  @Test
  void readsGenerationSettingsAndListsTheOnesNotApplied() {
    ConfigJson config =
        ConfigJson.parse(
            "{\"decoder_start_token_id\": 0, \"eos_token_id\": 0, \"pad_token_id\": 9,"
                + " \"bad_words_ids\": [[9]], \"num_beam_groups\": 1}",
            "config.json");
    ConfigJson generationConfig =
        ConfigJson.parse(
            "{\"no_repeat_ngram_size\": 3, \"min_length\": 56, \"typical_p\": 1.0,"
                + " \"num_return_sequences\": 2, \"suppress_tokens\": [1, 2],"
                + " \"forced_decoder_ids\": null}",
            "generation_config.json");
    GenerationConfig generation = GenerationConfig.of(config, generationConfig);
    assertEquals(3, generation.noRepeatNgramSize());
    assertEquals(List.of(List.of(9)), generation.badWordsIds());
    assertEquals(56, generation.minLength());
    assertEquals(
        List.of("num_return_sequences=2", "suppress_tokens=[1,2]"), generation.notApplied());
  }

  @Test
  void loadsBundledNumwordsModel() {
    try (Checkpoint checkpoint = Checkpoint.open(Fixtures.numwordsT5())) {
      ConfigJson config = checkpoint.config();
      int layers = config.getInt("num_layers");
      for (int layer = 0; layer < layers; layer++) {
        String prefix = "encoder.block." + layer + ".layer.0.SelfAttention.";
        long[] square = {config.getInt("d_model"), config.getInt("d_model")};
        for (String projection : new String[] {"q", "k", "v", "o"}) {
          float[] weights = checkpoint.floats(prefix + projection + ".weight", square);
          assertEquals(square[0] * square[1], weights.length);
        }
      }
      assertEquals(48, checkpoint.generationConfig().maxNewTokens());
      assertEquals(
          checkpoint.tensorNames().stream().mapToLong(n -> checkpoint.info(n).byteSize()).sum(),
          Files.size(Fixtures.numwordsT5().resolve("model.safetensors"))
              - 8
              - headerLength(Fixtures.numwordsT5().resolve("model.safetensors")));
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void roundTripsF32F16AndBf16() throws IOException {
    Random random = new Random(42);
    float[] f32 = new float[3 * 5];
    float[] f16 = new float[4 * 7];
    float[] bf16 = new float[2 * 3 * 4];
    for (int i = 0; i < f32.length; i++) {
      f32[i] = (float) random.nextGaussian();
    }
    // Values exactly representable in the narrow type must come back unchanged.
    for (int i = 0; i < f16.length; i++) {
      f16[i] = Float.float16ToFloat((short) random.nextInt(0x7C00)); // finite, non-negative
    }
    for (int i = 0; i < bf16.length; i++) {
      bf16[i] = Float.intBitsToFloat(((random.nextInt(0x7F00) << 16) | (i % 2 << 31)));
    }
    writeCheckpoint(
        tmp,
        new SafetensorsWriter()
            .metadata("format", "pt")
            .add("a", f32, 3, 5)
            .add("b", DType.F16, f16, 4, 7)
            .add("c", DType.BF16, bf16, 2, 3, 4));
    try (Checkpoint checkpoint = Checkpoint.open(tmp)) {
      assertEquals(
          java.util.List.of("a", "b", "c"), java.util.List.copyOf(checkpoint.tensorNames()));
      assertEquals(DType.F16, checkpoint.info("b").dtype());
      assertEquals(DType.BF16, checkpoint.info("c").dtype());
      assertArrayEquals(f32, checkpoint.floats("a", 3, 5));
      assertArrayEquals(f16, checkpoint.floats("b", 4, 7));
      assertArrayEquals(bf16, checkpoint.floats("c", 2, 3, 4));
      assertEquals(3 * 5 * 4, checkpoint.bytes("a").byteSize());
    }
  }

  @Test
  void narrowTypesRoundToNearestEven() throws IOException {
    float ulp = 0x1p-7f; // bfloat16 keeps 7 mantissa bits
    float[] values = {1 + ulp / 2, 1 + 3 * ulp / 2, 1 + ulp * 0.75f, -2.5f, Float.NaN};
    float[] expected = {1, 1 + 2 * ulp, 1 + ulp, -2.5f, Float.NaN};
    writeCheckpoint(tmp, new SafetensorsWriter().add("x", DType.BF16, values, values.length));
    try (Checkpoint checkpoint = Checkpoint.open(tmp)) {
      assertArrayEquals(expected, checkpoint.floats("x", values.length));
    }
  }

  @Test
  void streamsLargeTensorsInChunks() throws IOException {
    long rows = 300;
    long cols = 1000; // 300k elements: several writer chunks, not a multiple of the chunk size
    writeCheckpoint(
        tmp,
        new SafetensorsWriter()
            .add(
                "w",
                DType.F16,
                (start, chunk, n) -> {
                  for (int i = 0; i < n; i++) {
                    chunk[i] = (start + i) % 2048;
                  }
                },
                rows,
                cols));
    try (Checkpoint checkpoint = Checkpoint.open(tmp)) {
      float[] w = checkpoint.floats("w", rows, cols);
      for (int i = 0; i < w.length; i++) {
        if (w[i] != i % 2048) {
          throw new AssertionError("element " + i + " is " + w[i]);
        }
      }
    }
  }

  @Test
  void readsTensorsBeyondTwoGibibytes() throws IOException {
    // A sparse file: a 2 GiB tensor of zeros (never written) followed by a small one.
    long bigElements = 1L << 29;
    String header =
        "{\"big\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[0,%d]},"
                .formatted(bigElements, bigElements * 4)
            + "\"tail\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[%d,%d]}}"
                .formatted(bigElements * 4, bigElements * 4 + 8);
    byte[] json = header.getBytes(StandardCharsets.UTF_8);
    long dataStart = 8 + json.length;
    Path file = tmp.resolve("model.safetensors");
    try (RandomAccessFile out = new RandomAccessFile(file.toFile(), "rw")) {
      out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length).array());
      out.write(json);
      out.seek(dataStart + bigElements * 4);
      out.write(
          ByteBuffer.allocate(8)
              .order(ByteOrder.LITTLE_ENDIAN)
              .putFloat(1.5f)
              .putFloat(-2)
              .array());
    }
    Files.writeString(tmp.resolve("config.json"), "{\"model_type\": \"t5\"}");
    try (Checkpoint checkpoint = Checkpoint.open(tmp)) {
      assertArrayEquals(new float[] {1.5f, -2}, checkpoint.floats("tail", 2));
      assertEquals(bigElements * 4, checkpoint.bytes("big").byteSize());
    } finally {
      Files.delete(file);
    }
  }

  @Test
  void loadsShardedCheckpoints() throws IOException {
    float[] a = {1, 2, 3, 4};
    float[] b = {5, 6};
    Files.writeString(tmp.resolve("config.json"), "{\"model_type\": \"t5\"}");
    new SafetensorsWriter()
        .add("a", a, 2, 2)
        .write(tmp.resolve("model-00001-of-00002.safetensors"));
    new SafetensorsWriter()
        .add("b", DType.BF16, b, 2)
        .write(tmp.resolve("model-00002-of-00002.safetensors"));
    Files.writeString(
        tmp.resolve("model.safetensors.index.json"),
        """
        {"metadata": {"total_size": 20},
         "weight_map": {"a": "model-00001-of-00002.safetensors",
                        "b": "model-00002-of-00002.safetensors"}}
        """);
    try (Checkpoint checkpoint = Checkpoint.open(tmp)) {
      assertEquals(java.util.Set.of("a", "b"), checkpoint.tensorNames());
      assertArrayEquals(a, checkpoint.floats("a", 2, 2));
      assertArrayEquals(b, checkpoint.floats("b", 2));
      assertEquals(tmp.resolve("model-00002-of-00002.safetensors"), checkpoint.info("b").file());
      assertEquals("T5ForConditionalGeneration", checkpoint.config().architecture());
    }
  }

  static void writeCheckpoint(Path dir, SafetensorsWriter writer) throws IOException {
    Files.writeString(
        dir.resolve("config.json"),
        """
        {"architectures": ["T5ForConditionalGeneration"], "model_type": "t5",
         "decoder_start_token_id": 0, "eos_token_id": 1, "pad_token_id": 0}
        """);
    writer.write(dir.resolve("model.safetensors"));
  }

  /** Reads an F32 tensor with nothing but the safetensors format description. */
  private static float[] readF32ByHand(Path file, String name) throws IOException {
    try (RandomAccessFile in = new RandomAccessFile(file.toFile(), "r")) {
      long headerLength = headerLength(file);
      byte[] header = new byte[(int) headerLength];
      in.seek(8);
      in.readFully(header);
      JsonNode entry =
          new JsonMapper().readTree(new String(header, StandardCharsets.UTF_8)).get(name);
      assertEquals("F32", entry.get("dtype").asText());
      long begin = entry.get("data_offsets").get(0).asLong();
      long end = entry.get("data_offsets").get(1).asLong();
      byte[] data = new byte[(int) (end - begin)];
      in.seek(8 + headerLength + begin);
      in.readFully(data);
      float[] values = new float[data.length / 4];
      ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
      return values;
    }
  }

  private static long headerLength(Path file) throws IOException {
    byte[] prefix = new byte[8];
    try (RandomAccessFile in = new RandomAccessFile(file.toFile(), "r")) {
      in.readFully(prefix);
    }
    return ByteBuffer.wrap(prefix).order(ByteOrder.LITTLE_ENDIAN).getLong();
  }
}
