package dev.tandem.gpucheck;

import dev.tandem.core.bench.Benchmark;
import dev.tandem.core.bench.BenchmarkConfig;
import dev.tandem.core.bench.BenchmarkResult;
import dev.tandem.core.bench.BenchmarkSampling;
import dev.tandem.core.bench.ModelPreset;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Calls the engine's benchmark harness ({@code tandem bench}'s): the one place that knows its API.
 * Random-weight checkpoints are written once under $TANDEM_BENCH_CACHE (default: the harness's).
 * System properties {@code tandem.backend.<option>} become backend options (e.g. {@code
 * -Dtandem.backend.cuda.device-sampling=false}), for runs that compare a backend's settings.
 */
final class HarnessBridge {

  private HarnessBridge() {}

  static GpuBench.Result run(
      String preset,
      String backend,
      int threads,
      int batch,
      int inputLen,
      int outputLen,
      double temperature,
      double topP,
      int topK,
      int numBeams) {
    Map<String, String> flags = new HashMap<>();
    flags.put("backend", backend);
    flags.put("num-threads", String.valueOf(threads));
    System.getProperties()
        .forEach(
            (name, value) -> {
              if (name.toString().startsWith("tandem.backend.")
                  || name.toString().equals("tandem.num-scheduler-steps")
                  || name.toString().equals("tandem.max-num-batched-tokens")) {
                flags.put(name.toString().substring("tandem.".length()), value.toString());
              }
            });
    String cacheDir = System.getenv("TANDEM_BENCH_CACHE");
    BenchmarkConfig config =
        BenchmarkConfig.of(ModelPreset.byName(preset), batch, inputLen, outputLen)
            .withFlags(flags)
            .withSampling(new BenchmarkSampling(temperature, topP, topK, numBeams));
    if (cacheDir != null) {
      config =
          new BenchmarkConfig(
              null,
              config.preset(),
              batch,
              inputLen,
              outputLen,
              config.engineFlags(),
              Path.of(cacheDir),
              config.seed(),
              config.sampling());
    }
    BenchmarkResult r = Benchmark.run(config);
    String detail =
        String.format(
            Locale.ROOT,
            "step p50 %.2f ms, p99 %.2f ms, prefill %.1f ms, kv %d/%d, preemptions %d,"
                + " decode %.0f GFLOP/s, engine overhead %.1f%% (host time outside the model:"
                + " %.2f ms a step), tokens chosen on the backend in %.0f%% of steps",
            r.stepP50Ms(),
            r.stepP99Ms(),
            r.prefillMs(),
            r.peakKvBlocks(),
            r.totalKvBlocks(),
            r.preemptions(),
            r.decodeGflops(),
            100 * r.engineOverhead(),
            r.hostMsPerStep(),
            100 * r.chosenOnDevice());
    return new GpuBench.Result(
        r.sampling(),
        r.generatedTokens(),
        r.seconds(),
        r.ttftMeanMs() / 1000,
        Double.NaN,
        r.device(),
        detail);
  }
}
