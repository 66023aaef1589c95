package dev.tandem.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The README's embedding example is this module's code, and it runs. */
class EmbeddedGenerationTest {

  private static final Path ROOT = repositoryRoot();

  @Test
  void readmeShowsTheExampleAsCompiled() throws IOException {
    String source =
        Files.readString(
            ROOT.resolve("examples/src/main/java/dev/tandem/examples/EmbeddedGeneration.java"));
    String readme = Files.readString(ROOT.resolve("README.md"));
    String body =
        source.substring(
            source.indexOf("// README:begin\n") + "// README:begin\n".length(),
            source.indexOf("    // README:end"));
    List<String> bodyLines = body.lines().map(l -> l.length() >= 4 ? l.substring(4) : l).toList();
    assertTrue(
        readme.contains(String.join("\n", bodyLines)),
        "README.md's embedding example must be EmbeddedGeneration's main, unindented by 4:\n"
            + String.join("\n", bodyLines));
  }

  @Test
  void exampleRunsOnTheBundledModel() throws Exception {
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream stdout = System.out;
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      EmbeddedGeneration.main(new String[] {ROOT.resolve("models/numwords-t5").toString()});
    } finally {
      System.setOut(stdout);
    }
    List<String> lines = captured.toString(StandardCharsets.UTF_8).lines().toList();
    // The model's own evaluation examples give the expected words (models/numwords-t5/eval.json).
    assertEquals("a: four thousand one hundred twenty-seven", lines.get(0));
    assertEquals("b: 905", lines.get(1));
    assertTrue(lines.contains("c so far: thirty-one"), lines::toString);
    assertEquals("d: seventy-seven", lines.getLast());
  }

  private static Path repositoryRoot() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isDirectory(dir.resolve("fixtures"))) {
        return dir;
      }
    }
    throw new IllegalStateException("no fixtures/ above " + Path.of("").toAbsolutePath());
  }
}
