package dev.tandem.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.core.plugin.PluginKind;
import dev.tandem.core.plugin.PluginRow;
import dev.tandem.core.plugin.Plugins;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@code tandem plugins} from the distribution, against discovery run in this JVM. */
class PluginsCommandIT {

  @Test
  void listsEveryPluginOfTheDistributionWithItsAvailability() {
    Launcher.Run run = Launcher.run("plugins");
    assertEquals(0, run.exitCode(), run::toString);
    // The same discovery in-process, over the distribution's plugins directory.
    Plugins plugins = Plugins.discover(Optional.of(Launcher.distribution().resolve("plugins")));
    List<PluginRow> rows = plugins.describe();
    for (String name : List.of("v1", "v2", "cpu", "opencl", "cuda")) {
      PluginRow row =
          rows.stream()
              .filter(r -> r.name().equals(name))
              .findFirst()
              .orElseThrow(
                  () -> new AssertionError(name + " was not discovered: " + plugins.failures()));
      String line = line(run.stdout(), row);
      String jar = row.source().location().orElseThrow().getFileName().toString();
      assertTrue(line.contains("plugins/" + name + "/" + jar), line);
      if (row.available()) {
        assertTrue(line.endsWith(" yes"), line);
      } else {
        assertTrue(line.endsWith(" no: " + row.reason()), line);
      }
    }
    String auto = plugins.autoBackend().orElseThrow().name();
    assertTrue(run.stdout().contains("backend auto chooses: " + auto + "\n"), run::toString);
    PluginRow autoRow =
        rows.stream()
            .filter(r -> r.kind() == PluginKind.BACKEND && r.name().equals(auto))
            .findFirst()
            .orElseThrow();
    assertTrue(autoRow.autoChoice());
    assertTrue(run.stdout().contains("block manager by default: v2\n"), run::toString);
  }

  @Test
  void cudaIsListedAsUnavailableWithAReasonWhereThereIsNoNvidiaDriver() {
    Plugins plugins = Plugins.discover(Optional.of(Launcher.distribution().resolve("plugins")));
    PluginRow cuda =
        plugins.describe().stream().filter(r -> r.name().equals("cuda")).findFirst().orElseThrow();
    org.junit.jupiter.api.Assumptions.assumeFalse(
        cuda.available(), "this machine has a CUDA driver");
    Launcher.Run run = Launcher.run("plugins");
    String line = line(run.stdout(), cuda);
    assertTrue(line.matches(".* no: \\S.*"), "cuda must say why it is unavailable: " + line);
  }

  @Test
  void unknownOptionIsAUsageErrorThatNamesIt() {
    Launcher.Run run = Launcher.run("plugins", "--no-such-option");
    assertEquals(Main.USAGE_ERROR, run.exitCode(), run::toString);
    List<String> lines = errorLines(run);
    assertEquals(1, lines.size(), run::toString);
    assertTrue(lines.getFirst().contains("'--no-such-option'"), run::toString);
  }

  @Test
  void versionComesFromTheModuleDescriptor() {
    Launcher.Run run = Launcher.run("--version");
    assertEquals(0, run.exitCode(), run::toString);
    assertTrue(run.stdout().matches("tandem \\d+\\.\\d+\\.\\d+\\S*\n"), run::toString);
  }

  /** The table line of {@code row}: kind and name at its start. */
  private static String line(String table, PluginRow row) {
    return table
        .lines()
        .filter(l -> l.matches(row.kind().noun() + " +" + row.name() + " .*"))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no line for " + row.name() + " in\n" + table));
  }

  /** stderr without the JVM's own notes (incubator modules). */
  static List<String> errorLines(Launcher.Run run) {
    return run.stderr().lines().filter(l -> !l.startsWith("WARNING: Using incubator")).toList();
  }
}
