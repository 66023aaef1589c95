package dev.tandem.core.checkpoint;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each malformed input fails with a message that names the file or tensor and the problem. */
class CheckpointErrorsTest {
  private static final String CONFIG =
      """
      {"model_type": "t5", "decoder_start_token_id": 0, "eos_token_id": 1}
      """;

  @TempDir Path dir;

  @Test
  void missingDirectory() {
    Path missing = dir.resolve("nope");
    assertMessage(
        () -> Checkpoint.open(missing), missing.toString(), "does not exist", "config.json");
  }

  @Test
  void missingConfigListsWhatIsThere() throws IOException {
    new SafetensorsWriter().add("x", new float[] {1}, 1).write(dir.resolve("model.safetensors"));
    assertMessage(() -> Checkpoint.open(dir), "config.json", "[model.safetensors]");
  }

  @Test
  void missingWeights() throws IOException {
    Files.writeString(dir.resolve("config.json"), CONFIG);
    Files.writeString(dir.resolve("pytorch_model.bin"), "");
    assertMessage(
        () -> Checkpoint.open(dir),
        "model.safetensors or model.safetensors.index.json",
        "pytorch_model.bin",
        "safe_serialization=True");
  }

  @Test
  void fileShorterThanTheLengthPrefix() throws IOException {
    writeWeights(new byte[] {1, 2, 3});
    assertMessage(() -> Checkpoint.open(dir), "model.safetensors", "truncated", "3 bytes");
  }

  @Test
  void headerLengthBeyondTheFile() throws IOException {
    writeWeights(raw("{}", 0, 1000));
    assertMessage(
        () -> Checkpoint.open(dir), "model.safetensors", "header length 1000", "end of the file");
  }

  @Test
  void invalidHeaderJson() throws IOException {
    writeWeights(raw("{\"x\": {\"dtype\": \"F32\", ", 0, -1));
    assertMessage(() -> Checkpoint.open(dir), "model.safetensors", "invalid header JSON");
  }

  @Test
  void duplicateTensorInHeader() throws IOException {
    String entry = "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";
    writeWeights(raw("{\"x\":" + entry + ",\"x\":" + entry + "}", 4, -1));
    assertMessage(() -> Checkpoint.open(dir), "model.safetensors", "invalid header JSON", "x");
  }

  @Test
  void truncatedData() throws IOException {
    new SafetensorsWriter()
        .add("big", new float[100], 10, 10)
        .write(dir.resolve("model.safetensors"));
    Files.writeString(dir.resolve("config.json"), CONFIG);
    byte[] whole = Files.readAllBytes(dir.resolve("model.safetensors"));
    Files.write(dir.resolve("model.safetensors"), Arrays.copyOf(whole, whole.length - 10));
    assertMessage(
        () -> Checkpoint.open(dir), "model.safetensors", "'big'", "out of range", "truncated");
  }

  @Test
  void offsetsThatDoNotMatchDtypeAndShape() throws IOException {
    writeWeights(raw(tensor("w", "F32", "[2, 3]", 0, 20), 24, -1));
    assertMessage(
        () -> Checkpoint.open(dir), "model.safetensors", "'w'", "span 20 bytes", "needs 24");
  }

  @Test
  void negativeOffsets() throws IOException {
    writeWeights(raw(tensor("w", "F32", "[1]", -4, 0), 8, -1));
    assertMessage(() -> Checkpoint.open(dir), "'w'", "data_offsets", "non-negative");
  }

  @Test
  void overlappingTensors() throws IOException {
    String header =
        "{"
            + tensor("a", "F32", "[2]", 0, 8)
                .substring(1, tensor("a", "F32", "[2]", 0, 8).length() - 1)
            + ","
            + tensor("b", "F32", "[2]", 4, 12)
                .substring(1, tensor("b", "F32", "[2]", 4, 12).length() - 1)
            + "}";
    writeWeights(raw(header, 12, -1));
    assertMessage(() -> Checkpoint.open(dir), "model.safetensors", "'a'", "'b'", "overlap");
  }

  @Test
  void unknownDtypeInHeader() throws IOException {
    writeWeights(raw(tensor("q", "Q4_K", "[2]", 0, 2), 2, -1));
    assertMessage(() -> Checkpoint.open(dir), "'q'", "unknown dtype 'Q4_K'", "F32", "BF16");
  }

  @Test
  void integerTensorCannotBeReadAsFloats() throws IOException {
    writeWeights(raw(tensor("ids", "I64", "[3]", 0, 24), 24, -1));
    try (Checkpoint checkpoint = Checkpoint.open(dir)) {
      assertMessage(
          () -> checkpoint.floats("ids"), "'ids'", "model.safetensors", "I64", "F32", "BF16");
    }
  }

  @Test
  void missingTensorListsSimilarNames() throws IOException {
    Files.writeString(dir.resolve("config.json"), CONFIG);
    new SafetensorsWriter()
        .add("encoder.block.0.layer.0.SelfAttention.q.weight", new float[1], 1)
        .add("encoder.block.0.layer.0.SelfAttention.k.weight", new float[1], 1)
        .add("shared.weight", new float[1], 1)
        .write(dir.resolve("model.safetensors"));
    try (Checkpoint checkpoint = Checkpoint.open(dir)) {
      assertMessage(
          () -> checkpoint.floats("encoder.block.0.layer.0.SelfAttention.v.weight"),
          "no tensor 'encoder.block.0.layer.0.SelfAttention.v.weight'",
          dir.toString(),
          "encoder.block.0.layer.0.SelfAttention.q.weight");
    }
  }

  @Test
  void shapeMismatch() throws IOException {
    Files.writeString(dir.resolve("config.json"), CONFIG);
    new SafetensorsWriter().add("w", new float[6], 2, 3).write(dir.resolve("model.safetensors"));
    try (Checkpoint checkpoint = Checkpoint.open(dir)) {
      assertMessage(() -> checkpoint.floats("w", 3, 2), "'w'", "[2, 3]", "expects [3, 2]");
    }
  }

  @Test
  void invalidConfigJson() throws IOException {
    Files.writeString(dir.resolve("config.json"), "{\"d_model\": 64,");
    new SafetensorsWriter().add("x", new float[1], 1).write(dir.resolve("model.safetensors"));
    assertMessage(() -> Checkpoint.open(dir), "config.json", "invalid JSON");
  }

  @Test
  void missingRequiredConfigKey() throws IOException {
    Files.writeString(dir.resolve("config.json"), CONFIG);
    new SafetensorsWriter().add("x", new float[1], 1).write(dir.resolve("model.safetensors"));
    try (Checkpoint checkpoint = Checkpoint.open(dir)) {
      assertMessage(
          () -> checkpoint.config().getInt("d_model"), "config.json", "'d_model'", "missing");
    }
  }

  @Test
  void indexNamingAMissingShard() throws IOException {
    Files.writeString(dir.resolve("config.json"), CONFIG);
    Files.writeString(
        dir.resolve("model.safetensors.index.json"),
        "{\"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\"}}");
    assertMessage(
        () -> Checkpoint.open(dir),
        "model.safetensors.index.json",
        "model-00001-of-00002.safetensors",
        "does not exist");
  }

  @Test
  void indexNamingATensorItsShardLacks() throws IOException {
    Files.writeString(dir.resolve("config.json"), CONFIG);
    new SafetensorsWriter().add("a", new float[1], 1).write(dir.resolve("shard1.safetensors"));
    Files.writeString(
        dir.resolve("model.safetensors.index.json"),
        "{\"weight_map\": {\"a\": \"shard1.safetensors\", \"b\": \"shard1.safetensors\"}}");
    assertMessage(() -> Checkpoint.open(dir), "index.json", "'b'", "no shard holds it");
  }

  @Test
  void indexMayNotEscapeTheDirectory() throws IOException {
    Files.writeString(dir.resolve("config.json"), CONFIG);
    Files.writeString(
        dir.resolve("model.safetensors.index.json"),
        "{\"weight_map\": {\"a\": \"../elsewhere.safetensors\"}}");
    assertMessage(() -> Checkpoint.open(dir), "../elsewhere.safetensors", "not a plain file name");
  }

  private static String tensor(String name, String dtype, String shape, long begin, long end) {
    return "{\"%s\": {\"dtype\": \"%s\", \"shape\": %s, \"data_offsets\": [%d, %d]}}"
        .formatted(name, dtype, shape, begin, end);
  }

  /**
   * A safetensors file with the given header text and {@code dataBytes} zero bytes of data; the
   * length prefix is the header's true length unless {@code declaredLength} is not negative.
   */
  private static byte[] raw(String header, int dataBytes, long declaredLength) {
    byte[] json = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer file =
        ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
    file.putLong(declaredLength >= 0 ? declaredLength : json.length).put(json);
    return file.array();
  }

  private void writeWeights(byte[] bytes) throws IOException {
    Files.writeString(dir.resolve("config.json"), CONFIG);
    Files.write(dir.resolve("model.safetensors"), bytes);
  }

  private static void assertMessage(Runnable action, String... fragments) {
    CheckpointException e = assertThrows(CheckpointException.class, action::run);
    for (String fragment : fragments) {
      assertTrue(
          e.getMessage().contains(fragment),
          () -> "message lacks '" + fragment + "': " + e.getMessage());
    }
  }
}
