package dev.tandem.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The HuggingFace fixtures and the bundled model, found from the working directory upwards. */
final class Fixtures {

  private static final JsonMapper JSON = JsonMapper.builder().build();

  private Fixtures() {}

  /** The repository root: the nearest directory upwards that holds {@code fixtures/}. */
  static Path root() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.isDirectory(dir.resolve("fixtures"))) {
      dir = dir.getParent();
    }
    if (dir == null) {
      throw new IllegalStateException(
          "no fixtures/ directory above " + Path.of("").toAbsolutePath());
    }
    return dir;
  }

  static Path fixture(String name) {
    return root().resolve("fixtures").resolve(name);
  }

  static Path numwords() {
    return root().resolve("models").resolve("numwords-t5");
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
