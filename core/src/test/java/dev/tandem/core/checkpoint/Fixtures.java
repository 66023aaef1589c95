package dev.tandem.core.checkpoint;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Locates the repository's HuggingFace fixtures and bundled models from a test's directory. */
public final class Fixtures {

  /**
   * Every fixture with HuggingFace's outputs: the shared t5-tiny and bart-tiny, and the families
   * scripts/make-family-fixtures.py adds (Flan-T5, mT5, mBART, Marian), whose outputs vary per
   * position.
   */
  public static final List<String> HUGGING_FACE =
      List.of("t5-tiny", "bart-tiny", "flan-t5-tiny", "mt5-tiny", "mbart-tiny", "marian-tiny");

  private Fixtures() {}

  /** The nearest directory at or above the working directory that contains {@code fixtures/}. */
  public static Path repoRoot() {
    Path start = Path.of("").toAbsolutePath();
    for (Path dir = start; dir != null; dir = dir.getParent()) {
      if (Files.isDirectory(dir.resolve("fixtures"))) {
        return dir;
      }
    }
    throw new IllegalStateException("no fixtures/ directory at or above " + start);
  }

  /** {@code fixtures/<name>}, e.g. {@code t5-tiny}. */
  public static Path fixture(String name) {
    return repoRoot().resolve("fixtures").resolve(name);
  }

  /** The bundled demo model, {@code models/numwords-t5}. */
  public static Path numwordsT5() {
    return repoRoot().resolve("models").resolve("numwords-t5");
  }
}
