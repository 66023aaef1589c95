package dev.tandem.core.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.core.checkpoint.Checkpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class BenchmarkTest {

  @TempDir Path cache;

  @ParameterizedTest
  @EnumSource(
      value = ModelPreset.class,
      names = {"T5_TINY", "BART_TINY"})
  void randomCheckpointsLoadAndRunTheWorkloadExactly(ModelPreset preset) throws Exception {
    Path dir = RandomCheckpoint.ensure(preset, cache);
    try (Checkpoint checkpoint = Checkpoint.open(dir)) {
      assertEquals(preset.vocabSize(), checkpoint.config().optInt("vocab_size").getAsInt());
    }
    long written = Files.getLastModifiedTime(dir.resolve("model.safetensors")).toMillis();
    assertEquals(dir, RandomCheckpoint.ensure(preset, cache)); // reused, not rewritten
    assertEquals(written, Files.getLastModifiedTime(dir.resolve("model.safetensors")).toMillis());

    BenchmarkConfig config =
        new BenchmarkConfig(
            null, preset, 3, 10, 7, Map.of("backend", "cpu"), cache, 5, BenchmarkSampling.GREEDY);
    BenchmarkResult result = Benchmark.run(config);
    assertEquals(21, result.generatedTokens());
    assertTrue(result.tokensPerSecond() > 0);
    assertTrue(result.stepP50Ms() > 0 && result.stepP99Ms() >= result.stepP50Ms());
    assertTrue(result.peakKvBlocks() > 0 && result.peakKvBlocks() <= result.totalKvBlocks());
    assertEquals(0, result.preemptions());
    assertTrue(result.hostMsPerStep() > 0 && result.engineOverhead() < 1, result.toString());
    assertEquals(1.0, result.chosenOnDevice(), "greedy steps choose on the backend");
    String table = BenchmarkResult.table(List.of(result));
    assertTrue(table.contains(preset.label()) && table.contains("tok/s"), table);
    assertTrue(BenchmarkResult.json(List.of(result)).contains("\"tokensPerSecond\""));
  }

  @org.junit.jupiter.api.Test
  void sampledRunsGenerateExactlyTheWorkloadToo() {
    BenchmarkSampling topP = new BenchmarkSampling(0.8, 0.9, 40, 1);
    BenchmarkConfig config =
        new BenchmarkConfig(
            null, ModelPreset.T5_TINY, 4, 6, 9, Map.of("backend", "cpu"), cache, 3, topP);
    BenchmarkResult result = Benchmark.run(config);
    assertEquals(36, result.generatedTokens());
    assertEquals("temperature=0.8 top_p=0.9 top_k=40", result.sampling());
    assertEquals(0.0, result.chosenOnDevice(), "the cpu backend samples on the host");
    assertTrue(BenchmarkResult.table(List.of(result)).contains("sampling: temperature=0.8"));
    assertEquals("greedy", BenchmarkSampling.GREEDY.label());
    assertEquals("temperature=1", new BenchmarkSampling(1, 1, -1, 1).label());
    assertEquals("num_beams=4", new BenchmarkSampling(0, 1, -1, 4).label());
  }

  @org.junit.jupiter.api.Test
  void beamSearchRunsGenerateExactlyTheWorkloadToo() {
    BenchmarkConfig config =
        new BenchmarkConfig(
            null,
            ModelPreset.T5_TINY,
            3,
            6,
            9,
            Map.of("backend", "cpu"),
            cache,
            3,
            new BenchmarkSampling(0, 1, -1, 4));
    BenchmarkResult result = Benchmark.run(config);
    assertEquals(27, result.generatedTokens(), "the best beam of each request, 9 tokens");
    assertEquals("num_beams=4", result.sampling());
  }

  @org.junit.jupiter.api.Test
  void badSamplingSaysWhichParameter() {
    var e =
        assertThrows(IllegalArgumentException.class, () -> new BenchmarkSampling(1, 1.5, -1, 1));
    assertTrue(e.getMessage().contains("top_p"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new BenchmarkSampling(1, 1, -1, 4));
    assertTrue(e.getMessage().contains("beam search does not sample"), e.getMessage());
  }

  @ParameterizedTest
  @EnumSource(ModelPreset.class)
  void presetsAreFoundByName(ModelPreset preset) {
    assertEquals(preset, ModelPreset.byName(preset.label()));
  }

  @org.junit.jupiter.api.Test
  void unknownPresetsListTheKnownOnes() {
    var e = assertThrows(IllegalArgumentException.class, () -> ModelPreset.byName("gpt-2"));
    assertTrue(e.getMessage().contains("t5-small, "), e.getMessage());
  }

  @org.junit.jupiter.api.Test
  void decodeFlopsCountTheWeights() {
    // t5-small: 6 layers x (4 + 2) x 512 x 512 + 2 x 2048 x 512, plus the 32128 x 512 LM head
    long perLayer = 6L * 512 * 512 + 2L * 2048 * 512;
    assertEquals(2 * (6 * perLayer + 32128L * 512), ModelPreset.T5_SMALL.decodeFlopsPerToken());
  }
}
