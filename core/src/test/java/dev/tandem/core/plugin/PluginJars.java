package dev.tandem.core.plugin;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tandem.api.PluginProvider;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;

/** Builds plugin jars at test time: compiles sources with javac, adds service files, jars them. */
final class PluginJars {

  private PluginJars() {}

  /** Where {@code dev.tandem.api} was loaded from: its classes directory or jar. */
  static Path apiLocation() {
    try {
      return Path.of(
          PluginProvider.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Compiles {@code sources} (class name, or "module-info", → source) and jars the classes with
   * {@code services} (service interface → provider class names, one per line) under
   * META-INF/services.
   *
   * @param options javac options such as {@code -classpath} or {@code --module-path}
   */
  static Path build(
      Path jar, Map<String, String> sources, Map<String, String> services, List<String> options)
      throws IOException {
    Path work = Files.createTempDirectory("tandem-test-plugin");
    Path classes = work.resolve("classes");
    List<String> args = new ArrayList<>(options);
    args.addAll(List.of("-d", classes.toString(), "-proc:none", "-Xlint:none"));
    for (Map.Entry<String, String> source : sources.entrySet()) {
      Path file = work.resolve("src").resolve(source.getKey().replace('.', '/') + ".java");
      Files.createDirectories(file.getParent());
      Files.writeString(file, source.getValue());
      args.add(file.toString());
    }
    // java.util.spi.ToolProvider (java.base), so that core's module needs no java.compiler.
    ToolProvider javac = ToolProvider.findFirst("javac").orElseThrow();
    StringWriter diagnostics = new StringWriter();
    PrintWriter writer = new PrintWriter(diagnostics);
    int status = javac.run(writer, writer, args.toArray(String[]::new));
    assertEquals(0, status, () -> "test plugin did not compile:\n" + diagnostics);
    try (OutputStream out = Files.newOutputStream(jar);
        JarOutputStream jarOut = new JarOutputStream(out);
        Stream<Path> files = Files.walk(classes)) {
      for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
        jarOut.putNextEntry(new JarEntry(classes.relativize(file).toString().replace('\\', '/')));
        jarOut.write(Files.readAllBytes(file));
        jarOut.closeEntry();
      }
      for (Map.Entry<String, String> service : services.entrySet()) {
        jarOut.putNextEntry(new JarEntry("META-INF/services/" + service.getKey()));
        jarOut.write((service.getValue() + "\n").getBytes(StandardCharsets.UTF_8));
        jarOut.closeEntry();
      }
    } finally {
      deleteRecursively(work);
    }
    return jar;
  }

  private static void deleteRecursively(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(file);
      }
    }
  }

  /** The source of a backend provider class {@code pkg.cls} with the given name and behaviour. */
  static String backendSource(
      String qualifiedClass, String name, int priority, String availabilityExpression) {
    int dot = qualifiedClass.lastIndexOf('.');
    return """
        package %s;

        import dev.tandem.api.Availability;
        import dev.tandem.api.backend.AttentionBackend;
        import dev.tandem.api.backend.AttentionBackendProvider;
        import dev.tandem.api.backend.BackendConfig;

        public final class %s implements AttentionBackendProvider {
          public String name() { return "%s"; }
          public int priority() { return %d; }
          public Availability availability() { return %s; }
          public AttentionBackend create(BackendConfig config) {
            throw new UnsupportedOperationException("test plugin");
          }
        }
        """
        .formatted(
            qualifiedClass.substring(0, dot),
            qualifiedClass.substring(dot + 1),
            name,
            priority,
            availabilityExpression);
  }
}
