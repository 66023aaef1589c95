package dev.tandem.core.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.core.checkpoint.Fixtures;
import dev.tandem.core.config.EngineConfig;
import dev.tandem.core.model.Providers;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/** Engines over the repository's real checkpoints (CPU backend), and their reference files. */
final class RealModels {

  private RealModels() {}

  /** An engine over {@code model} with the given configuration flags on top of test defaults. */
  static Engine engine(Path model, String blockManager, Map<String, String> flags) {
    Map<String, String> all = new HashMap<>();
    all.put("model", model.toString());
    all.put("backend", "cpu");
    all.put("block-manager", blockManager);
    all.put("num-kv-blocks", "2048");
    all.put("swap-blocks", "2048");
    all.put("block-size", "16");
    all.put("num-threads", "2");
    all.putAll(flags);
    return Engine.create(EngineConfig.resolve(all, Optional.empty(), Map.of(), Map.of()));
  }

  /**
   * (fixture, backend name) for every fixture on every backend available to this run (cpu, and
   * opencl and cuda where a device is there): the engine tests that compare with HuggingFace.
   */
  static Stream<Arguments> onEveryBackend(List<String> fixtures) {
    return fixtures.stream()
        .flatMap(
            fixture ->
                Providers.backends().stream()
                    .map(backend -> Arguments.of(fixture, backend.name())));
  }

  static JsonNode json(Path file) {
    try {
      return new ObjectMapper().readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static JsonNode golden(String fixture) {
    return json(Fixtures.fixture(fixture).resolve("golden.json"));
  }

  /**
   * {@code base} with a fixture's {@code beam_search} settings (golden.json); without
   * min_new_tokens there, min_tokens is the model's.
   */
  static SamplingParams.Builder beamSearch(JsonNode beam, SamplingParams.Builder base) {
    return base.numBeams(beam.get("num_beams").asInt())
        .maxTokens(beam.get("max_new_tokens").asInt())
        .minTokens(beam.has("min_new_tokens") ? beam.get("min_new_tokens").asInt() : null)
        .lengthPenalty(beam.get("length_penalty").asDouble())
        .earlyStopping(beam.get("early_stopping").asBoolean());
  }

  static JsonNode numwordsEval() {
    return json(Fixtures.numwordsT5().resolve("eval.json"));
  }

  static int[] ints(JsonNode array) {
    int[] values = new int[array.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = array.get(i).asInt();
    }
    return values;
  }
}
