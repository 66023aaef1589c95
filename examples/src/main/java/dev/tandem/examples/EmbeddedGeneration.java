package dev.tandem.examples;

import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.core.config.EngineConfig;
import dev.tandem.core.engine.AsyncEngine;
import dev.tandem.core.engine.Engine;
import dev.tandem.core.engine.Request;
import dev.tandem.core.engine.RequestHandle;
import dev.tandem.core.engine.RequestOutput;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Generates with Tandem from a Java application: README.md's embedding example. */
public final class EmbeddedGeneration {

  private EmbeddedGeneration() {}

  /** Usage: {@code EmbeddedGeneration [MODEL_DIR]} (default: models/numwords-t5). */
  public static void main(String[] args) throws Exception {
    // README:begin
    // Configuration: these flags, then tandem.* system properties, TANDEM_* environment variables,
    // ./tandem.properties and the defaults. Backends and block managers are the plugins found on
    // the class/module path (here tandem-backend-cpu and tandem-block-manager-v2 jars).
    String model = args.length > 0 ? args[0] : "models/numwords-t5";
    EngineConfig config =
        EngineConfig.resolve(
            Map.of("model", model, "backend", "cpu", "num-kv-blocks", "512"), Optional.empty());

    try (Engine engine = Engine.create(config)) {
      // The model's generation_config.json defaults, then ours.
      SamplingParams params = engine.defaultSamplingParams().maxTokens(32).build();

      // Batch: every request runs to the end; outputs come back in input order.
      List<RequestOutput> outputs =
          engine.generate(
              List.of(
                  Request.of("a", "to words: 4127", params),
                  Request.of("b", "to digits: nine hundred five", params)));
      for (RequestOutput output : outputs) {
        System.out.println(output.requestId() + ": " + output.first().text());
      }

      // Step by step: add requests any time; each step returns the outputs it advanced.
      engine.addRequest(Request.of("c", "to words: 31", params));
      while (engine.hasUnfinished()) {
        for (RequestOutput partial : engine.step()) {
          System.out.println(partial.requestId() + " so far: " + partial.first().text());
        }
      }
    }

    // Many threads: AsyncEngine drives its engine on its own thread; submit returns at once.
    try (AsyncEngine async = new AsyncEngine(Engine.create(config))) {
      RequestHandle handle = async.submit(Request.of("d", "to words: 77", SamplingParams.greedy()));
      System.out.println("d: " + handle.result().get().first().text());
    }
    // README:end
  }
}
