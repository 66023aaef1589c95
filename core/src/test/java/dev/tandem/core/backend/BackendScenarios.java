package dev.tandem.core.backend;

import dev.tandem.api.backend.Activation;
import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionMetadata;
import dev.tandem.api.backend.AttentionSpec;
import dev.tandem.api.backend.AttentionType;
import dev.tandem.api.backend.DataType;
import dev.tandem.api.backend.DeviceTensor;
import dev.tandem.api.backend.KvCacheSpec;
import dev.tandem.api.backend.PositionBias;
import dev.tandem.api.block.BlockMapping;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.IntStream;

/**
 * Backend operations on random inputs, for comparing two backends: each scenario draws its inputs
 * from a fixed seed, so every backend it runs on sees the same numbers, and returns its named
 * outputs read back to the host.
 */
final class BackendScenarios {

  /**
   * One behaviour to compare.
   *
   * @param exact whether outputs must match exactly (indexes) rather than within a tolerance
   */
  record Scenario(
      String name, boolean exact, Function<AttentionBackend, Map<String, float[]>> run) {
    @Override
    public String toString() {
      return name;
    }
  }

  private static final int HEADS = 4;
  private static final int HEAD_DIM = 16;
  private static final int STRIDE = HEADS * HEAD_DIM;
  private static final int LAYERS = 2;
  private static final int BUCKETS = 16;
  private static final int MAX_DISTANCE = 20;
  private static final int[] ENCODER_LENS = {7, 1, 23};
  private static final int[] DECODER_LENS = {3, 1, 9};
  private static final int DECODE_STEPS = 2;

  private BackendScenarios() {}

  static List<Scenario> all() {
    List<Scenario> all = new ArrayList<>();
    for (int[] shape : new int[][] {{1, 64, 96}, {7, 33, 65}, {64, 256, 128}}) {
      for (boolean bias : new boolean[] {false, true}) {
        all.add(
            new Scenario(
                "linear " + shape[0] + "x" + shape[1] + "x" + shape[2] + (bias ? " +bias" : ""),
                false,
                b -> linear(b, shape[0], shape[1], shape[2], bias)));
      }
    }
    all.add(new Scenario("add, multiply, scale", false, BackendScenarios::elementwise));
    for (Activation kind : Activation.values()) {
      all.add(new Scenario("activation " + kind, false, b -> activation(b, kind)));
    }
    all.add(new Scenario("rmsNorm, layerNorm", false, BackendScenarios::norms));
    all.add(new Scenario("embedding", false, BackendScenarios::embedding));
    // The chosen ids exactly; their log-softmax within the tolerance (a GPU sums in another order).
    all.add(new Scenario("greedy ids", true, b -> Map.of("ids", greedy(b).get("ids"))));
    all.add(
        new Scenario(
            "greedy log-probabilities", false, b -> Map.of("logprobs", greedy(b).get("logprobs"))));
    for (int blockSize : new int[] {1, 4, 16}) {
      for (boolean bias : new boolean[] {false, true}) {
        all.add(
            new Scenario(
                "attention blockSize=" + blockSize + (bias ? " +T5 bias" : ""),
                false,
                b -> attention(b, blockSize, bias)));
      }
    }
    all.add(new Scenario("swapOut, swapIn, copyBlocks", false, BackendScenarios::swapAndCopy));
    return all;
  }

  private static float[] random(Random random, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) random.nextGaussian();
    }
    return a;
  }

  private static float[] read(AttentionBackend b, DeviceTensor t, int n) {
    float[] out = new float[n];
    b.read(t, 0, out, 0, n);
    return out;
  }

  private static Map<String, float[]> linear(
      AttentionBackend b, int m, int k, int n, boolean bias) {
    Random random = new Random(11);
    DeviceTensor y = b.allocate(DataType.F32, (long) m * n);
    b.linear(
        b.upload(random(random, m * k)),
        m,
        k,
        b.upload(random(random, n * k)),
        bias ? b.upload(random(random, n)) : null,
        n,
        y);
    return Map.of("y", read(b, y, m * n));
  }

  private static Map<String, float[]> elementwise(AttentionBackend b) {
    Random random = new Random(12);
    int count = 1003;
    DeviceTensor x = b.upload(random(random, count));
    DeviceTensor y = b.upload(random(random, count));
    DeviceTensor out = b.allocate(DataType.F32, count);
    Map<String, float[]> results = new LinkedHashMap<>();
    b.add(x, y, count, out);
    results.put("add", read(b, out, count));
    b.multiply(x, y, count, out);
    results.put("multiply", read(b, out, count));
    b.scale(x, 0.125f, count, out);
    results.put("scale", read(b, out, count));
    return results;
  }

  private static Map<String, float[]> activation(AttentionBackend b, Activation kind) {
    Random random = new Random(13);
    int count = 2049;
    float[] x = random(random, count);
    for (int i = 0; i < count; i++) {
      x[i] *= 4; // reaches the saturated tails of every activation
    }
    DeviceTensor out = b.allocate(DataType.F32, count);
    b.activation(kind, b.upload(x), count, out);
    return Map.of(kind.name(), read(b, out, count));
  }

  private static Map<String, float[]> norms(AttentionBackend b) {
    Random random = new Random(14);
    int n = 5;
    int dim = 96;
    DeviceTensor x = b.upload(random(random, n * dim));
    DeviceTensor weight = b.upload(random(random, dim));
    DeviceTensor bias = b.upload(random(random, dim));
    DeviceTensor out = b.allocate(DataType.F32, n * dim);
    Map<String, float[]> results = new LinkedHashMap<>();
    b.rmsNorm(x, n, dim, weight, 1e-6f, out);
    results.put("rmsNorm", read(b, out, n * dim));
    b.layerNorm(x, n, dim, weight, bias, 1e-5f, out);
    results.put("layerNorm", read(b, out, n * dim));
    return results;
  }

  private static Map<String, float[]> embedding(AttentionBackend b) {
    Random random = new Random(15);
    int rows = 100;
    int dim = 48;
    int n = 13;
    DeviceTensor table = b.upload(random(random, rows * dim));
    DeviceTensor ids = b.allocate(DataType.I32, n);
    b.write(ids, 0, random.ints(n, 0, rows).toArray(), 0, n);
    DeviceTensor out = b.allocate(DataType.F32, n * dim);
    Map<String, float[]> results = new LinkedHashMap<>();
    b.embedding(ids, n, table, dim, 1f, out);
    results.put("scale 1", read(b, out, n * dim));
    b.embedding(ids, n, table, dim, 8f, out);
    results.put("scale 8", read(b, out, n * dim));
    return results;
  }

  private static Map<String, float[]> greedy(AttentionBackend b) {
    Random random = new Random(16);
    int n = 6;
    int vocab = 3001;
    DeviceTensor idsOut = b.allocate(DataType.I32, n);
    DeviceTensor logprobs = b.allocate(DataType.F32, n);
    b.greedy(b.upload(random(random, n * vocab)), n, vocab, idsOut, logprobs);
    int[] ids = new int[n];
    b.read(idsOut, 0, ids, 0, n);
    float[] asFloats = new float[n];
    for (int i = 0; i < n; i++) {
      asFloats[i] = ids[i];
    }
    return Map.of("ids", asFloats, "logprobs", read(b, logprobs, n));
  }

  /**
   * A prefill (encoder, decoder self, cross) and a few decode steps over shuffled block tables, as
   * the model runner drives them; every attention output is returned.
   */
  private static Map<String, float[]> attention(
      AttentionBackend b, int blockSize, boolean withBias) {
    Random random = new Random(17L * blockSize + (withBias ? 1 : 0));
    int sequences = ENCODER_LENS.length;
    int[][] selfTables = new int[sequences][];
    int[][] crossTables = new int[sequences][];
    int needed = 0;
    for (int s = 0; s < sequences; s++) {
      needed +=
          blocks(DECODER_LENS[s] + DECODE_STEPS, blockSize) + blocks(ENCODER_LENS[s], blockSize);
    }
    List<Integer> free = shuffledBlocks(needed + 3, random);
    for (int s = 0; s < sequences; s++) {
      selfTables[s] = take(free, blocks(DECODER_LENS[s] + DECODE_STEPS, blockSize));
      crossTables[s] = take(free, blocks(ENCODER_LENS[s], blockSize));
    }
    b.allocateKvCache(new KvCacheSpec(LAYERS, needed + 3, 2, blockSize, HEADS, HEAD_DIM));
    DeviceTensor biasTable = b.upload(random(random, BUCKETS * HEADS));
    float scale = withBias ? 1f : 0.25f;
    int layer = LAYERS - 1;
    AttentionSpec encoderSpec =
        new AttentionSpec(
            layer,
            HEADS,
            HEAD_DIM,
            scale,
            withBias ? new PositionBias(biasTable, BUCKETS, MAX_DISTANCE, true) : null);
    AttentionSpec selfSpec =
        new AttentionSpec(
            layer,
            HEADS,
            HEAD_DIM,
            scale,
            withBias ? new PositionBias(biasTable, BUCKETS, MAX_DISTANCE, false) : null);
    AttentionSpec crossSpec = new AttentionSpec(layer, HEADS, HEAD_DIM, scale, null);

    int[] crossSlots = slots(crossTables, ENCODER_LENS, blockSize);
    int[] selfSlots = slots(selfTables, DECODER_LENS, blockSize);
    AttentionMetadata prefill =
        AttentionMetadata.prefill(blockSize, ENCODER_LENS, crossSlots, DECODER_LENS, selfSlots);
    int encoderTokens = crossSlots.length;
    int decoderTokens = selfSlots.length;
    Map<String, float[]> results = new LinkedHashMap<>();
    results.put(
        "encoder",
        attend(
            b, AttentionType.ENCODER, encoderSpec, random, encoderTokens, encoderTokens, prefill));
    results.put(
        "decoder prefill",
        attend(b, AttentionType.DECODER, selfSpec, random, decoderTokens, decoderTokens, prefill));
    results.put(
        "cross prefill",
        attend(
            b,
            AttentionType.ENCODER_DECODER,
            crossSpec,
            random,
            decoderTokens,
            encoderTokens,
            prefill));
    for (int step = 0; step < DECODE_STEPS; step++) {
      int[] seqLens = new int[sequences];
      int[] newSlots = new int[sequences];
      for (int s = 0; s < sequences; s++) {
        int position = DECODER_LENS[s] + step;
        seqLens[s] = position + 1;
        newSlots[s] = slot(selfTables[s], position, blockSize);
      }
      AttentionMetadata decode =
          AttentionMetadata.decode(
              blockSize, seqLens, newSlots, selfTables, crossTables, ENCODER_LENS);
      results.put(
          "decode self " + step,
          attend(b, AttentionType.DECODER, selfSpec, random, sequences, sequences, decode));
      results.put(
          "decode cross " + step,
          attend(b, AttentionType.ENCODER_DECODER, crossSpec, random, sequences, 0, decode));
    }
    return results;
  }

  /** Random q (and k, v unless {@code keys} is 0) uploaded, attention run, output read back. */
  private static float[] attend(
      AttentionBackend b,
      AttentionType type,
      AttentionSpec spec,
      Random random,
      int queries,
      int keys,
      AttentionMetadata md) {
    DeviceTensor q = b.upload(random(random, queries * STRIDE));
    DeviceTensor k = keys == 0 ? null : b.upload(random(random, keys * STRIDE));
    DeviceTensor v = keys == 0 ? null : b.upload(random(random, keys * STRIDE));
    DeviceTensor out = b.allocate(DataType.F32, (long) queries * STRIDE);
    b.attention(type, spec, q, k, v, out, md);
    return read(b, out, queries * STRIDE);
  }

  /**
   * Writes two sequences' K/V into blocks {5, 2}, copies them to {7, 3}, swaps them out, overwrites
   * {5, 2}, swaps them back in to {4, 6}, and reads all three tables with cross-attention at decode
   * (which only reads the cache), in both layers.
   */
  private static Map<String, float[]> swapAndCopy(AttentionBackend b) {
    Random random = new Random(18);
    int blockSize = 4;
    int tokens = 8;
    b.allocateKvCache(new KvCacheSpec(LAYERS, 8, 2, blockSize, HEADS, HEAD_DIM));
    int[] original = {5, 2};
    int[] slots = slots(new int[][] {original}, new int[] {tokens}, blockSize);
    AttentionMetadata write =
        AttentionMetadata.prefill(blockSize, new int[] {0}, new int[0], new int[] {tokens}, slots);
    for (int layer = 0; layer < LAYERS; layer++) {
      AttentionSpec spec = new AttentionSpec(layer, HEADS, HEAD_DIM, 0.25f, null);
      attend(b, AttentionType.DECODER, spec, random, tokens, tokens, write);
    }
    b.copyBlocks(List.of(new BlockMapping(5, 7), new BlockMapping(2, 3)));
    b.swapOut(List.of(new BlockMapping(5, 1), new BlockMapping(2, 0)));
    for (int layer = 0; layer < LAYERS; layer++) {
      AttentionSpec spec = new AttentionSpec(layer, HEADS, HEAD_DIM, 0.25f, null);
      attend(b, AttentionType.DECODER, spec, random, tokens, tokens, write);
    }
    b.swapIn(List.of(new BlockMapping(1, 4), new BlockMapping(0, 6)));
    int[][] tables = {original, {7, 3}, {4, 6}};
    int[] lens = {tokens, tokens, tokens};
    AttentionMetadata read =
        AttentionMetadata.decode(blockSize, lens, new int[3], new int[3][0], tables, lens);
    Map<String, float[]> results = new LinkedHashMap<>();
    for (int layer = 0; layer < LAYERS; layer++) {
      AttentionSpec spec = new AttentionSpec(layer, HEADS, HEAD_DIM, 0.25f, null);
      results.put(
          "layer " + layer,
          attend(b, AttentionType.ENCODER_DECODER, spec, random, tables.length, 0, read));
    }
    return results;
  }

  private static List<Integer> shuffledBlocks(int count, Random random) {
    List<Integer> ids = new ArrayList<>(IntStream.range(0, count).boxed().toList());
    Collections.shuffle(ids, random);
    return ids;
  }

  private static int[] take(List<Integer> free, int count) {
    int[] table = new int[count];
    for (int i = 0; i < count; i++) {
      table[i] = free.remove(free.size() - 1);
    }
    return table;
  }

  private static int blocks(int tokens, int blockSize) {
    return (tokens + blockSize - 1) / blockSize;
  }

  private static int slot(int[] table, int position, int blockSize) {
    return table[position / blockSize] * blockSize + position % blockSize;
  }

  /** Slots of positions [0, lens[s]) of every sequence, packed. */
  private static int[] slots(int[][] tables, int[] lens, int blockSize) {
    int[] slots = new int[IntStream.of(lens).sum()];
    int t = 0;
    for (int s = 0; s < lens.length; s++) {
      for (int p = 0; p < lens[s]; p++) {
        slots[t++] = slot(tables[s], p, blockSize);
      }
    }
    return slots;
  }
}
