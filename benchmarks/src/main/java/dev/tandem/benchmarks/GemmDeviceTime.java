package dev.tandem.benchmarks;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.benchmarks.cpu.GemmBenchmark;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Time per call of a backend's linear layer, y(m, n) = x(m, k) · w(n, k)ᵀ, at given shapes: the
 * GEMMs of a decode step alone, to see how far each is from the device's peak. Calls are queued
 * back to back and the clock stops after a read of y, which waits for them all: for large shapes
 * the device's time per GEMM, for small ones the cost of a launch. Six rounds, the first a warm-up,
 * the best of the others reported.
 *
 * <p>{@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp <tandem
 * jars and plugins> dev.tandem.benchmarks.GemmDeviceTime --backend cuda [--option cuda.gemm=plain
 * ...] [--round-seconds S] MxKxN ...}
 */
public final class GemmDeviceTime {

  private GemmDeviceTime() {}

  public static void main(String[] args) {
    String backendName = "cpu";
    Map<String, String> options = new LinkedHashMap<>();
    double roundSeconds = 0.5;
    List<int[]> shapes = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (arg.equals("--backend") && i + 1 < args.length) {
        backendName = args[++i];
      } else if (arg.equals("--option") && i + 1 < args.length) {
        String[] option = args[++i].split("=", 2);
        if (option.length != 2) {
          throw new IllegalArgumentException(args[i] + ": expected --option key=value");
        }
        options.put(option[0], option[1]);
      } else if (arg.equals("--round-seconds") && i + 1 < args.length) {
        roundSeconds = Double.parseDouble(args[++i]);
      } else {
        shapes.add(GemmBenchmark.parseShape(arg, "--backend B, --option k=v, --round-seconds S"));
      }
    }
    if (shapes.isEmpty()) {
      throw new IllegalArgumentException("no shapes: name at least one MxKxN, e.g. 256x512x2048");
    }
    try (AttentionBackend backend = BenchBackends.open(backendName, options)) {
      System.out.println("# " + backend.deviceName() + ", options " + options);
      System.out.println("m\tk\tn\tus/call\tTFLOP/s\tcalls");
      Random random = new Random(1);
      long roundNanos = (long) (roundSeconds * 1e9);
      for (int[] shape : shapes) {
        int m = shape[0];
        int k = shape[1];
        int n = shape[2];
        GemmBenchmark.Operands operands = GemmBenchmark.Operands.upload(backend, random, m, k, n);
        float[] sink = new float[1];
        double bestNanosPerCall = Double.MAX_VALUE;
        int calls = 0;
        for (int round = 0; round < 6; round++) {
          long start = System.nanoTime();
          calls = 0;
          // Queue in batches, read to wait, until the round's time is up.
          while (System.nanoTime() - start < roundNanos) {
            for (int c = 0; c < 16; c++) {
              backend.linear(operands.x(), m, k, operands.w(), null, n, operands.y());
            }
            calls += 16;
            backend.read(operands.y(), 0, sink, 0, 1);
          }
          double perCall = (double) (System.nanoTime() - start) / calls;
          if (round > 0) {
            bestNanosPerCall = Math.min(bestNanosPerCall, perCall);
          }
        }
        System.out.printf(
            "%d\t%d\t%d\t%.1f\t%.2f\t%d%n",
            m, k, n, bestNanosPerCall / 1e3, 2.0 * m * k * n / bestNanosPerCall / 1e3, calls);
        operands.free(backend);
      }
    }
  }
}
