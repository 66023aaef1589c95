package dev.tandem.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** The HuggingFace fixtures and the bundled model, found from the working directory upwards. */
final class Fixtures {

  private static final JsonMapper JSON = JsonMapper.builder().build();

  private Fixtures() {}

  static Path fixture(String name) {
    return dev.tandem.core.checkpoint.Fixtures.fixture(name);
  }

  static Path numwords() {
    return dev.tandem.core.checkpoint.Fixtures.numwordsT5();
  }

  static JsonNode json(Path file) {
    try {
      return JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static int[] ints(JsonNode array) {
    int[] values = new int[array.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = array.get(i).intValue();
    }
    return values;
  }

  static int[][] intRows(JsonNode arrays) {
    int[][] rows = new int[arrays.size()][];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = ints(arrays.get(i));
    }
    return rows;
  }
}
