package dev.tandem.cli;

import dev.tandem.core.config.EngineConfig;
import dev.tandem.core.plugin.PluginLoadFailure;
import dev.tandem.core.plugin.PluginRow;
import dev.tandem.core.plugin.Plugins;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tandem plugins}: every discovered plugin, whether it can be used, and auto's choice. */
@Command(
    name = "plugins",
    mixinStandardHelpOptions = true,
    description = {
      "Lists every block manager and backend found on the module path and in the plugins"
          + " directory: version, jar or module, whether it is available here (and why not),"
          + " and which one 'auto' would choose."
    })
final class PluginsCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(
      names = "--plugins",
      paramLabel = "DIR",
      description = "plugins directory (default: the distribution's plugins/)")
  Path plugins;

  @Override
  public Integer call() {
    Optional<Home> home = Home.current();
    Map<String, String> flags = plugins == null ? Map.of() : Map.of("plugins", plugins.toString());
    EngineConfig config =
        EngineOptions.withDistributionDefaults(EngineConfig.resolve(flags, Optional.empty()), home);
    Plugins found = Plugins.discover(config.pluginsDirectory());
    PrintWriter out = spec.commandLine().getOut();
    out.print(table(found.describe(), home));
    for (PluginLoadFailure failure : found.failures()) {
      out.println("not loaded: " + failure);
    }
    out.println(
        "backend auto chooses: "
            + found.autoBackend().map(p -> p.name()).orElse("none (no backend is available)"));
    out.println("block manager by default: " + config.blockManager());
    out.flush();
    return 0;
  }

  /** Fixed-width columns; availability (with the reason) last, as it may be long. */
  static String table(List<PluginRow> rows, Optional<Home> home) {
    List<String[]> cells = new ArrayList<>();
    cells.add(
        new String[] {"KIND", "NAME", "VERSION", "PRIORITY", "AUTO", "MODULE (JAR)", "AVAILABLE"});
    for (PluginRow row : rows) {
      cells.add(
          new String[] {
            row.kind().noun(),
            row.name(),
            row.version().orElse("-"),
            String.valueOf(row.priority()),
            row.autoChoice() ? "*" : "",
            source(row, home),
            row.available() ? "yes" : "no: " + row.reason()
          });
    }
    int columns = cells.getFirst().length;
    int[] widths = new int[columns];
    for (String[] line : cells) {
      for (int c = 0; c < columns; c++) {
        widths[c] = Math.max(widths[c], line[c].length());
      }
    }
    StringBuilder table = new StringBuilder();
    for (String[] line : cells) {
      StringBuilder text = new StringBuilder();
      for (int c = 0; c < columns; c++) {
        text.append(c == columns - 1 ? line[c] : pad(line[c], widths[c] + 2));
      }
      table.append(text.toString().stripTrailing()).append('\n');
    }
    return table.toString();
  }

  /** "dev.tandem.backend.cpu (plugins/cpu/tandem-backend-cpu-0.1.0.jar)". */
  private static String source(PluginRow row, Optional<Home> home) {
    Optional<String> jar =
        row.source().location().map(path -> home.map(h -> h.display(path)).orElse(path.toString()));
    return row.source()
        .module()
        .map(module -> module + jar.map(j -> " (" + j + ")").orElse(""))
        .orElseGet(() -> jar.orElse("unknown"));
  }

  private static String pad(String text, int width) {
    return text.length() >= width ? text : text + " ".repeat(width - text.length());
  }
}
