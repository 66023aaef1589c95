package dev.tandem.cli;

import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.core.config.EngineConfig;
import dev.tandem.core.engine.Engine;
import dev.tandem.core.engine.Request;
import dev.tandem.core.engine.RequestOutput;
import dev.tandem.core.plugin.Plugins;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code tandem generate}: runs the engine on prompts from the command line or a JSON-lines file.
 * One prompt streams its text as it is generated; several, or a file, give one result per request
 * in input order.
 */
@Command(
    name = "generate",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Generates text for each PROMPT (one argument per prompt) or each line of --input-file.",
      "One prompt streams its output as it is generated; otherwise results are written in input"
          + " order, as text or, with --json, as JSON lines.",
      "Exit status: 0 ok, 1 a runtime error or a failed request, 2 a usage error."
    })
final class GenerateCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Parameters(paramLabel = "PROMPT", arity = "0..*", description = "encoder prompts")
  List<String> prompts = new ArrayList<>();

  @Option(
      names = "--input-file",
      paramLabel = "FILE",
      description = {
        "JSON lines: {\"prompt\": \"...\"} or {\"prompt_token_ids\": [...]}, optional"
            + " \"decoder_prompt\" / \"decoder_prompt_token_ids\", \"request_id\" and sampling"
            + " overrides (\"max_tokens\", \"temperature\", \"stop\", ...)"
      })
  Path inputFile;

  @Option(
      names = "--json",
      description = "write JSON lines: request_id, prompt, outputs (text, token_ids, ...)")
  boolean json;

  @Option(
      names = "--progress",
      description = "show a progress bar on stderr (default: when stderr is a terminal)")
  boolean progress;

  @Mixin SamplingOptions sampling;

  @Mixin EngineOptions engineOptions;

  @Override
  public Integer call() throws IOException {
    if (prompts.isEmpty() == (inputFile == null)) {
      throw new ParameterException(
          spec.commandLine(),
          prompts.isEmpty()
              ? "give a PROMPT or --input-file FILE"
              : "give PROMPTs or --input-file FILE, not both");
    }
    SamplingParams flags = checkSamplingFlags();
    EngineConfig config = engineOptions.resolve();
    Plugins plugins = Plugins.discover(config.pluginsDirectory());
    String backend = plugins.selectBackend(config.backend()).name();
    int sequences = requestCount() * Math.max(flags.n(), flags.numBeams());
    // the chosen backend by name: the engine need not choose (and log the choice) again
    config = KvCacheDefaults.forWorkload(config.withBackend(backend), backend, sequences);
    try (Engine engine = Engine.create(config, plugins)) {
      SamplingParams base = sampling.applyTo(engine.defaultSamplingParams()).build();
      List<InputLine> inputs =
          inputFile != null ? JsonLinesInput.read(inputFile, base) : fromArguments(base);
      if (inputs.size() == 1 && inputFile == null && !json && streams(base)) {
        return stream(engine, ((InputLine.Valid) inputs.getFirst()).request());
      }
      return batch(engine, inputs);
    }
  }

  /**
   * The sampling flags over vLLM's defaults: values SamplingParams rejects are usage errors, found
   * before the model loads.
   */
  private SamplingParams checkSamplingFlags() {
    try {
      return sampling.applyTo(SamplingParams.builder()).build();
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
  }

  /** The prompts, or the input file's non-blank lines. */
  private int requestCount() throws IOException {
    if (inputFile == null) {
      return prompts.size();
    }
    try (var lines = Files.lines(inputFile)) {
      return (int) lines.filter(line -> !line.isBlank()).count();
    }
  }

  private List<InputLine> fromArguments(SamplingParams params) {
    List<InputLine> inputs = new ArrayList<>(prompts.size());
    for (int i = 0; i < prompts.size(); i++) {
      inputs.add(
          new InputLine.Valid(
              "prompt " + (i + 1), Request.of(String.valueOf(i), prompts.get(i), params)));
    }
    return inputs;
  }

  /** Streaming shows one sequence as it grows: not for n > 1 or beam search. */
  private static boolean streams(SamplingParams params) {
    return params.n() == 1 && !params.isBeamSearch();
  }

  /**
   * Prints the text as steps produce it. With stop strings, the last (longest stop - 1) characters
   * wait until the next step, as they may be the start of a stop string the engine will cut.
   */
  private int stream(Engine engine, Request request) {
    PrintWriter out = spec.commandLine().getOut();
    int holdBack =
        request.samplingParams().stop().stream().mapToInt(s -> s.length() - 1).max().orElse(0);
    engine.addRequest(request);
    String printed = "";
    while (engine.hasUnfinished()) {
      for (RequestOutput output : engine.step()) {
        if (output.failed()) {
          throw new IllegalStateException("request failed: " + output.first().finishMessage());
        }
        String text = output.first().text();
        int upTo = output.finished() ? text.length() : text.length() - holdBack;
        if (upTo > printed.length() && text.startsWith(printed)) {
          out.print(text.substring(printed.length(), upTo));
          out.flush();
          printed = text.substring(0, upTo);
        }
      }
    }
    out.println();
    out.flush();
    return 0;
  }

  /** Runs every request together; results in input order, errors in place of bad ones. */
  private int batch(Engine engine, List<InputLine> inputs) {
    ResultWriter writer = new ResultWriter(spec.commandLine().getOut(), json, inputs.size());
    ProgressBar bar = showProgress() ? new ProgressBar(System.err, inputs.size()) : null;
    Map<String, Integer> positions = new HashMap<>();
    for (int i = 0; i < inputs.size(); i++) {
      InputLine input = inputs.get(i);
      switch (input) {
        case InputLine.Invalid invalid -> failed(writer, bar, i, input, invalid.message());
        case InputLine.Valid valid -> {
          try {
            engine.addRequest(valid.request());
            positions.put(valid.request().requestId(), i);
          } catch (IllegalArgumentException e) {
            failed(writer, bar, i, input, valid.origin() + ": " + e.getMessage());
          }
        }
      }
    }
    while (engine.hasUnfinished()) {
      for (RequestOutput output : engine.step()) {
        if (output.finished()) {
          if (bar != null) {
            bar.clear();
          }
          writer.finished(positions.get(output.requestId()), output);
          if (bar != null) {
            bar.advance(!output.failed());
          }
        }
      }
    }
    if (bar != null) {
      bar.finish();
    }
    if (writer.failures() > 0) {
      spec.commandLine()
          .getErr()
          .println("tandem: " + writer.failures() + " of " + inputs.size() + " requests failed");
      return Main.RUNTIME_ERROR;
    }
    return 0;
  }

  private static void failed(
      ResultWriter writer, ProgressBar bar, int position, InputLine input, String message) {
    if (bar != null) {
      bar.clear();
    }
    writer.failed(position, input, message);
    if (bar != null) {
      bar.advance(false);
    }
  }

  private boolean showProgress() {
    return progress || (inputFile != null && Boolean.getBoolean("tandem.stderr.terminal"));
  }
}
