package dev.tandem.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code tandem} command: generate text, benchmark the engine, list plugins. */
@Command(
    name = "tandem",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Encoder/decoder transformer inference with a paged KV cache.",
    subcommands = {})
public final class Main implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

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
    spec.commandLine().usage(System.out);
  }

  private static int usageError(CommandLine.ParameterException e, String[] args) {
    CommandLine cmd = e.getCommandLine();
    cmd.getErr()
        .println("tandem: " + e.getMessage() + " (see '" + cmd.getCommandName() + " --help')");
    return 2;
  }

  private static int runtimeError(
      Exception e, CommandLine cmd, CommandLine.ParseResult parseResult) {
    cmd.getErr().println("tandem: " + (e.getMessage() != null ? e.getMessage() : e.toString()));
    if (Boolean.getBoolean("tandem.debug")) {
      e.printStackTrace(cmd.getErr());
    }
    return 1;
  }

  /** The version from the module descriptor or the jar manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version =
          Main.class
              .getModule()
              .getDescriptor()
              .rawVersion()
              .orElseGet(() -> Main.class.getPackage().getImplementationVersion());
      return new String[] {"tandem " + (version != null ? version : "(development build)")};
    }
  }
}
