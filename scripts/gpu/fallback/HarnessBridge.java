package dev.tandem.gpucheck;

/** Stand-in compiled when the engine's benchmark harness (dev.tandem.core.bench) is missing. */
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
    throw new UnsupportedOperationException(
        "the engine's benchmark harness is not in this build yet: no Tandem figures");
  }
}
