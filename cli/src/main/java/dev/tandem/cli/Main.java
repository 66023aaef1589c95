package dev.tandem.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code tandem} command: generate text, benchmark the engine, list plugins. */
@Command(
    name = "tandem",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Encoder/decoder transformer inference with a paged KV cache.",
    subcommands = {GenerateCommand.class, BenchCommand.class, PluginsCommand.class})
public final class Main implements Runnable {

  /** Exit code of a command that failed at run time: a missing file, an unknown backend. */
  static final int RUNTIME_ERROR = 1;

  /** Exit code of a command line that could not be parsed: an unknown option, a bad value. */
  static final int USAGE_ERROR = 2;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @CommandLine.Option(
      names = {"-v", "--verbose"},
      scope = CommandLine.ScopeType.INHERIT,
      description = "also log the engine's progress (backend choice, KV cache size) on stderr")
  void verbose(boolean verbose) {
    if (verbose) {
      java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.INFO);
    }
  }

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns its exit code: 0 ok, 1 runtime error, 2 usage error. */
  public static int run(String... args) {
    return new CommandLine(new Main())
        .setExecutionExceptionHandler(Main::runtimeError)
        .setParameterExceptionHandler(Main::usageError)
        .execute(args);
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** One line: what was wrong, and where to read more. */
  private static int usageError(CommandLine.ParameterException e, String[] args) {
    CommandLine cmd = e.getCommandLine();
    String message = e.getMessage().lines().findFirst().orElse(e.toString());
    cmd.getErr()
        .println(
            "tandem: " + message + " (see '" + cmd.getCommandSpec().qualifiedName() + " --help')");
    return USAGE_ERROR;
  }

  private static int runtimeError(
      Exception e, CommandLine cmd, CommandLine.ParseResult parseResult) {
    cmd.getErr().println("tandem: " + (e.getMessage() != null ? e.getMessage() : e.toString()));
    if (Boolean.getBoolean("tandem.debug")) {
      e.printStackTrace(cmd.getErr());
    }
    return RUNTIME_ERROR;
  }

  /** The version from the module descriptor or the jar manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      Module module = Main.class.getModule();
      String version =
          module.isNamed()
              ? module.getDescriptor().rawVersion().orElse(null)
              : Main.class.getPackage().getImplementationVersion();
      return new String[] {"tandem " + (version != null ? version : "(development build)")};
    }
  }
}
