package dev.tandem.gpucheck;

import java.io.FileWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One benchmark configuration of the GPU check, run through the engine's benchmark harness; appends
 * one JSON line (engine, model, device, threads, batch, sampling, tokens, seconds, tokens_per_s,
 * ttft_s, gpu_gib) to --json-out, in the schema benchmarks/peers/compare.py joins with
 * HuggingFace's.
 *
 * <p>usage: GpuBench --preset t5-small --backend cuda --threads 0 --batch 32 --input-len 128
 * --output-len 128 [--temperature T --top-p P --top-k K | --num-beams N] --json-out FILE
 * (greedy without either)
 */
public final class GpuBench {

  private GpuBench() {}

  public static void main(String[] args) throws IOException {
    Map<String, String> options = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (!args[i].startsWith("--")) {
        throw new IllegalArgumentException("expected --name value pairs, got " + args[i]);
      }
      options.put(args[i].substring(2), args[i + 1]);
    }
    String preset = options.getOrDefault("preset", "t5-small");
    String backend = options.getOrDefault("backend", "cuda");
    int threads = Integer.parseInt(options.getOrDefault("threads", "0"));
    int batch = Integer.parseInt(options.getOrDefault("batch", "1"));
    int inputLen = Integer.parseInt(options.getOrDefault("input-len", "128"));
    int outputLen = Integer.parseInt(options.getOrDefault("output-len", "128"));
    double temperature = Double.parseDouble(options.getOrDefault("temperature", "0"));
    double topP = Double.parseDouble(options.getOrDefault("top-p", "1"));
    int topK = Integer.parseInt(options.getOrDefault("top-k", "-1"));
    int numBeams = Integer.parseInt(options.getOrDefault("num-beams", "1"));
    Result r =
        HarnessBridge.run(
            preset,
            backend,
            threads,
            batch,
            inputLen,
            outputLen,
            temperature,
            topP,
            topK,
            numBeams);
    String json =
        String.format(
            Locale.ROOT,
            "{\"engine\": \"tandem\", \"model\": \"%s\", \"device\": \"%s\", \"threads\": %d,"
                + " \"batch\": %d, \"sampling\": \"%s\", \"input_len\": %d, \"output_len\": %d,"
                + " \"tokens\": %d,"
                + " \"seconds\": %.4f, \"tokens_per_s\": %.1f, \"ttft_s\": %.4f,"
                + " \"gpu_gib\": %s, \"backend_device\": \"%s\", \"scheduler_steps\": %s,"
                + " \"cuda_graphs\": %b, \"cuda_decode_attention\": %s, \"cuda_gemm\": %s,"
                + " \"cpu_vector_bits\": %s}",
            preset,
            backend,
            threads,
            batch,
            r.sampling(),
            inputLen,
            outputLen,
            r.tokens(),
            r.seconds(),
            r.tokens() / r.seconds(),
            r.ttftSeconds(),
            Double.isNaN(r.gpuGib()) ? "null" : String.format(Locale.ROOT, "%.3f", r.gpuGib()),
            r.deviceName().replace("\"", "'"),
            System.getProperty("tandem.num-scheduler-steps", "1"),
            backend.equals("cuda") && Boolean.getBoolean("tandem.cuda.graphs"),
            cudaProperty(backend, "decode-attention", "half-warps"),
            cudaProperty(backend, "gemm", "staged"),
            backend.equals("cpu") && System.getProperty("tandem.cpu.vector-bits") != null
                ? System.getProperty("tandem.cpu.vector-bits")
                : "null");
    System.out.println(
        String.format(
            Locale.ROOT,
            "tandem %-10s %-6s threads=%-2d B=%-4d %s %10.1f tok/s  %.3f s  ttft %.3f s  %s",
            preset,
            backend,
            threads,
            batch,
            r.sampling(),
            r.tokens() / r.seconds(),
            r.seconds(),
            r.ttftSeconds(),
            r.detail()));
    String out = options.get("json-out");
    if (out != null) {
      try (PrintWriter w = new PrintWriter(new FileWriter(out, true))) {
        w.println(json);
      }
    } else {
      System.out.println(json);
    }
  }

  /** What one run measured. */
  record Result(
      String sampling,
      long tokens,
      double seconds,
      double ttftSeconds,
      double gpuGib,
      String deviceName,
      String detail) {}

  /** A cuda backend option's system property (tandem.cuda.NAME) as a JSON string, else null. */
  private static String cudaProperty(String backend, String name, String fallback) {
    return backend.equals("cuda")
        ? "\"" + System.getProperty("tandem.cuda." + name, fallback) + "\""
        : "null";
  }
}
