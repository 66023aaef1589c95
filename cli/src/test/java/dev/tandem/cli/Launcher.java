package dev.tandem.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the assembled distribution's {@code bin/tandem} as a subprocess, as a user would: the
 * distribution is the one {@code package} built (system property {@code tandem.dist}), the Java
 * runtime is this test's.
 */
final class Launcher {

  /** What one run of the launcher did. */
  record Run(int exitCode, String stdout, String stderr) {
    @Override
    public String toString() {
      return "exit " + exitCode + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
    }
  }

  private static final long TIMEOUT_SECONDS = 300;

  private Launcher() {}

  /** The distribution's root directory. */
  static Path distribution() {
    String dir = System.getProperty("tandem.dist");
    assertTrue(dir != null, "system property tandem.dist (the distribution directory) is not set");
    Path home = Path.of(dir);
    assertTrue(
        Files.isExecutable(home.resolve("bin/tandem")),
        home + "/bin/tandem is missing: run `./mvnw verify` (package assembles it)");
    return home;
  }

  /** Runs {@code bin/tandem args...} in {@code workDir} with extra environment variables. */
  static Run run(Path workDir, Map<String, String> environment, String... args) {
    return runFrom(distribution(), workDir, environment, args);
  }

  /** As {@link #run}, with the distribution at {@code home} (a copy, say). */
  static Run runFrom(Path home, Path workDir, Map<String, String> environment, String... args) {
    List<String> command = new ArrayList<>();
    command.add(home.resolve("bin/tandem").toString());
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile());
    builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
    builder.environment().remove("TANDEM_JAVA_OPTS");
    builder.environment().putAll(environment);
    try {
      Path out = Files.createTempFile("tandem-stdout", ".txt");
      Path err = Files.createTempFile("tandem-stderr", ".txt");
      try {
        Process process =
            builder
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .start();
        if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          throw new AssertionError("tandem " + String.join(" ", args) + " did not finish in time");
        }
        return new Run(
            process.exitValue(),
            Files.readString(out, StandardCharsets.UTF_8),
            Files.readString(err, StandardCharsets.UTF_8));
      } finally {
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  /** Runs {@code bin/tandem args...} in the distribution's directory. */
  static Run run(String... args) {
    return run(distribution(), Map.of(), args);
  }
}
