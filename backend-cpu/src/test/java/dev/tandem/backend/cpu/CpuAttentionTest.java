package dev.tandem.backend.cpu;

import static dev.tandem.backend.cpu.ScalarReference.random;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionMetadata;
import dev.tandem.api.backend.AttentionSpec;
import dev.tandem.api.backend.AttentionType;
import dev.tandem.api.backend.BackendConfig;
import dev.tandem.api.backend.DataType;
import dev.tandem.api.backend.DeviceTensor;
import dev.tandem.api.backend.KvCacheSpec;
import dev.tandem.api.backend.PositionBias;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Paged attention against a plain unpaged reference: a batch of sequences is prefilled (encoder,
 * decoder self-attention, cross-attention) and then decoded for a few steps, with block tables of
 * shuffled block numbers, so any slot or table mix-up changes the result.
 */
class CpuAttentionTest {

  private static final double TOLERANCE = 1e-5;
  private static final int HEADS = 3;
  // 12 is not a multiple of the vector lanes (tails); 72 adds a 4-vector chunk and a single vector
  private int headDim = 12;
  private int stride = HEADS * headDim;
  private static final int LAYER = 1;
  private static final int BUCKETS = 8;
  private static final int MAX_DISTANCE = 12;
  private static final int[] ENCODER_LENS = {5, 1, 9, 17};
  private static final int[] DECODER_LENS = {1, 4, 7, 2};
  private static final int DECODE_STEPS = 3;

  private final AttentionBackend backend =
      new CpuBackendProvider().create(new BackendConfig(2, Map.of()));
  private final Random random = new Random(7);

  @AfterEach
  void close() {
    backend.close();
  }

  @ParameterizedTest(name = "blockSize={0} bias={1} headDim={2}")
  @CsvSource({
    "1, false, 12",
    "1, true, 72",
    "4, false, 72",
    "4, true, 12",
    "16, false, 12",
    "16, true, 72"
  })
  void pagedAttentionMatchesUnpagedReference(int blockSize, boolean withBias, int headDim) {
    this.headDim = headDim;
    this.stride = HEADS * headDim;
    int sequences = ENCODER_LENS.length;
    // Shuffled block numbers: self tables hold room for the decode steps, cross tables for the
    // encoder tokens, and a few blocks stay unused.
    int[][] selfTables = new int[sequences][];
    int[][] crossTables = new int[sequences][];
    int needed = 0;
    for (int s = 0; s < sequences; s++) {
      needed +=
          blocks(DECODER_LENS[s] + DECODE_STEPS, blockSize) + blocks(ENCODER_LENS[s], blockSize);
    }
    int numBlocks = needed + 5;
    List<Integer> ids = new ArrayList<>(IntStream.range(0, numBlocks).boxed().toList());
    Collections.shuffle(ids, random);
    int next = 0;
    for (int s = 0; s < sequences; s++) {
      selfTables[s] = new int[blocks(DECODER_LENS[s] + DECODE_STEPS, blockSize)];
      for (int b = 0; b < selfTables[s].length; b++) {
        selfTables[s][b] = ids.get(next++);
      }
      crossTables[s] = new int[blocks(ENCODER_LENS[s], blockSize)];
      for (int b = 0; b < crossTables[s].length; b++) {
        crossTables[s][b] = ids.get(next++);
      }
    }
    backend.allocateKvCache(new KvCacheSpec(2, numBlocks, 0, blockSize, HEADS, headDim));

    float[] biasTable = random(random, BUCKETS * HEADS);
    DeviceTensor biasTensor = backend.upload(biasTable);
    PositionBias encoderBias =
        withBias ? new PositionBias(biasTensor, BUCKETS, MAX_DISTANCE, true) : null;
    PositionBias decoderBias =
        withBias ? new PositionBias(biasTensor, BUCKETS, MAX_DISTANCE, false) : null;
    float scale = withBias ? 1f : (float) (1 / Math.sqrt(headDim));

    int[] crossSlots = slots(crossTables, ENCODER_LENS, 0, blockSize);
    int[] selfSlots = slots(selfTables, DECODER_LENS, 0, blockSize);
    AttentionMetadata prefill =
        AttentionMetadata.prefill(blockSize, ENCODER_LENS, crossSlots, DECODER_LENS, selfSlots);

    // Encoder self-attention: bidirectional within each packed sequence.
    int encoderTokens = crossSlots.length;
    float[] q = random(random, encoderTokens * stride);
    float[] k = random(random, encoderTokens * stride);
    float[] v = random(random, encoderTokens * stride);
    float[] got =
        run(
            AttentionType.ENCODER,
            new AttentionSpec(LAYER, HEADS, headDim, scale, encoderBias),
            q,
            k,
            v,
            encoderTokens,
            prefill);
    List<double[]> expected = new ArrayList<>();
    int row = 0;
    for (int s = 0; s < sequences; s++) {
      List<float[]> keys = rows(k, row, ENCODER_LENS[s]);
      List<float[]> values = rows(v, row, ENCODER_LENS[s]);
      for (int p = 0; p < ENCODER_LENS[s]; p++) {
        expected.add(
            reference(q, row + p, keys, values, p, scale, withBias ? biasTable : null, true));
      }
      row += ENCODER_LENS[s];
    }
    assertClose(got, expected, "encoder");

    // Decoder self-attention at prefill: causal; the K/V land in the cache for decode.
    int decoderTokens = selfSlots.length;
    q = random(random, decoderTokens * stride);
    k = random(random, decoderTokens * stride);
    v = random(random, decoderTokens * stride);
    AttentionSpec selfSpec = new AttentionSpec(LAYER, HEADS, headDim, scale, decoderBias);
    got = run(AttentionType.DECODER, selfSpec, q, k, v, decoderTokens, prefill);
    List<List<float[]>> selfKeys = new ArrayList<>();
    List<List<float[]>> selfValues = new ArrayList<>();
    expected.clear();
    row = 0;
    for (int s = 0; s < sequences; s++) {
      selfKeys.add(new ArrayList<>(rows(k, row, DECODER_LENS[s])));
      selfValues.add(new ArrayList<>(rows(v, row, DECODER_LENS[s])));
      for (int p = 0; p < DECODER_LENS[s]; p++) {
        expected.add(
            reference(
                q,
                row + p,
                selfKeys.get(s).subList(0, p + 1),
                selfValues.get(s).subList(0, p + 1),
                p,
                scale,
                withBias ? biasTable : null,
                false));
      }
      row += DECODER_LENS[s];
    }
    assertClose(got, expected, "decoder prefill");

    // Cross-attention at prefill: decoder queries over their own group's encoder tokens.
    q = random(random, decoderTokens * stride);
    k = random(random, encoderTokens * stride);
    v = random(random, encoderTokens * stride);
    AttentionSpec crossSpec = new AttentionSpec(LAYER, HEADS, headDim, scale, null);
    got = run(AttentionType.ENCODER_DECODER, crossSpec, q, k, v, decoderTokens, prefill);
    List<List<float[]>> crossKeys = new ArrayList<>();
    List<List<float[]>> crossValues = new ArrayList<>();
    expected.clear();
    int encoderRow = 0;
    row = 0;
    for (int s = 0; s < sequences; s++) {
      crossKeys.add(rows(k, encoderRow, ENCODER_LENS[s]));
      crossValues.add(rows(v, encoderRow, ENCODER_LENS[s]));
      for (int p = 0; p < DECODER_LENS[s]; p++) {
        expected.add(
            reference(q, row + p, crossKeys.get(s), crossValues.get(s), p, scale, null, false));
      }
      encoderRow += ENCODER_LENS[s];
      row += DECODER_LENS[s];
    }
    assertClose(got, expected, "cross prefill");

    // Decode steps: one new token per sequence, paged self-attention then paged cross-attention.
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
      q = random(random, sequences * stride);
      k = random(random, sequences * stride);
      v = random(random, sequences * stride);
      got = run(AttentionType.DECODER, selfSpec, q, k, v, sequences, decode);
      expected.clear();
      for (int s = 0; s < sequences; s++) {
        selfKeys.get(s).add(rows(k, s, 1).get(0));
        selfValues.get(s).add(rows(v, s, 1).get(0));
        expected.add(
            reference(
                q,
                s,
                selfKeys.get(s),
                selfValues.get(s),
                seqLens[s] - 1,
                scale,
                withBias ? biasTable : null,
                false));
      }
      assertClose(got, expected, "decode step " + step);

      q = random(random, sequences * stride);
      got = run(AttentionType.ENCODER_DECODER, crossSpec, q, null, null, sequences, decode);
      expected.clear();
      for (int s = 0; s < sequences; s++) {
        expected.add(reference(q, s, crossKeys.get(s), crossValues.get(s), 0, scale, null, false));
      }
      assertClose(got, expected, "cross decode step " + step);
    }
  }

  @Test
  void inconsistentMetadataFailsClearly() {
    AttentionSpec spec = new AttentionSpec(0, HEADS, headDim, 1f, null);
    DeviceTensor t = backend.allocate(DataType.F32, 4 * stride);
    AttentionMetadata decode =
        AttentionMetadata.decode(
            4, new int[] {6}, new int[] {5}, new int[][] {{1}}, new int[][] {{0}}, new int[] {2});
    var noCache =
        assertThrows(
            IllegalStateException.class,
            () ->
                backend.attention(
                    AttentionType.DECODER,
                    spec,
                    t,
                    t,
                    t,
                    backend.allocate(DataType.F32, stride),
                    decode));
    assertTrue(noCache.getMessage().contains("allocateKvCache"), noCache.getMessage());

    backend.allocateKvCache(new KvCacheSpec(1, 4, 0, 4, HEADS, headDim));
    DeviceTensor out = backend.allocate(DataType.F32, 4 * stride);
    var shortTable =
        assertThrows(
            IllegalArgumentException.class,
            () -> backend.attention(AttentionType.DECODER, spec, t, t, t, out, decode));
    assertTrue(
        shortTable.getMessage().contains("block table of 1 blocks"), shortTable.getMessage());

    AttentionMetadata badSlot =
        AttentionMetadata.decode(
            4, new int[] {1}, new int[] {16}, new int[][] {{1}}, new int[][] {{0}}, new int[] {2});
    var slot =
        assertThrows(
            IllegalArgumentException.class,
            () -> backend.attention(AttentionType.DECODER, spec, t, t, t, out, badSlot));
    assertTrue(slot.getMessage().contains("slot 16"), slot.getMessage());

    AttentionSpec biased =
        new AttentionSpec(0, HEADS, headDim, 1f, new PositionBias(t, 2, 4, false));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            backend.attention(AttentionType.ENCODER_DECODER, biased, t, null, null, out, badSlot));

    AttentionSpec wrongHeads = new AttentionSpec(0, HEADS + 1, headDim, 1f, null);
    var heads =
        assertThrows(
            IllegalArgumentException.class,
            () -> backend.attention(AttentionType.DECODER, wrongHeads, t, t, t, out, badSlot));
    assertTrue(heads.getMessage().contains("does not match the KV cache"), heads.getMessage());
  }

  private float[] run(
      AttentionType type,
      AttentionSpec spec,
      float[] q,
      float[] k,
      float[] v,
      int queries,
      AttentionMetadata md) {
    DeviceTensor out = backend.allocate(DataType.F32, (long) queries * stride);
    backend.attention(
        type,
        spec,
        backend.upload(q),
        k == null ? null : backend.upload(k),
        v == null ? null : backend.upload(v),
        out,
        md);
    float[] result = new float[queries * stride];
    backend.read(out, 0, result, 0, result.length);
    return result;
  }

  /** Unpaged reference for query row {@code row}: bias by HF's bucket of kPos − qPos. */
  private double[] reference(
      float[] q,
      int row,
      List<float[]> keys,
      List<float[]> values,
      int queryPosition,
      float scale,
      float[] biasTable,
      boolean bidirectional) {
    double[][] bias = null;
    if (biasTable != null) {
      bias = new double[HEADS][keys.size()];
      for (int h = 0; h < HEADS; h++) {
        for (int j = 0; j < keys.size(); j++) {
          int bucket = PositionBias.bucket(j - queryPosition, bidirectional, BUCKETS, MAX_DISTANCE);
          bias[h][j] = biasTable[bucket * HEADS + h];
        }
      }
    }
    float[] query = java.util.Arrays.copyOfRange(q, row * stride, (row + 1) * stride);
    return ScalarReference.attend(
        query,
        keys.toArray(float[][]::new),
        values.toArray(float[][]::new),
        HEADS,
        headDim,
        scale,
        bias);
  }

  private static void assertClose(float[] got, List<double[]> expected, String what) {
    double[] flat = expected.stream().flatMapToDouble(java.util.Arrays::stream).toArray();
    double error = ScalarReference.relativeError(got, flat);
    assertTrue(error < TOLERANCE, what + ": relative error " + error);
  }

  private List<float[]> rows(float[] data, int first, int count) {
    List<float[]> rows = new ArrayList<>();
    for (int r = first; r < first + count; r++) {
      rows.add(java.util.Arrays.copyOfRange(data, r * stride, (r + 1) * stride));
    }
    return rows;
  }

  private static int blocks(int tokens, int blockSize) {
    return (tokens + blockSize - 1) / blockSize;
  }

  private static int slot(int[] table, int position, int blockSize) {
    return table[position / blockSize] * blockSize + position % blockSize;
  }

  /** Slots of positions [first, first + lens[s]) of every sequence, packed. */
  private static int[] slots(int[][] tables, int[] lens, int first, int blockSize) {
    int[] slots = new int[IntStream.of(lens).sum()];
    int t = 0;
    for (int s = 0; s < lens.length; s++) {
      for (int p = first; p < first + lens[s]; p++) {
        slots[t++] = slot(tables[s], p, blockSize);
      }
    }
    return slots;
  }
}
