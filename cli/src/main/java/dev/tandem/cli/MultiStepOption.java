package dev.tandem.cli;

import java.util.Map;
import picocli.CommandLine.Option;

/** {@code --num-scheduler-steps}, shared by the commands that run the engine. */
final class MultiStepOption {

  @Option(
      names = "--num-scheduler-steps",
      paramLabel = "K",
      description = "decode tokens per scheduling decision (multi-step; default 1)")
  Integer numSchedulerSteps;

  /** Adds the flag to {@code flags} under its configuration key, if it was given. */
  void putInto(Map<String, String> flags) {
    if (numSchedulerSteps != null) {
      flags.put("num-scheduler-steps", numSchedulerSteps.toString());
    }
  }
}
