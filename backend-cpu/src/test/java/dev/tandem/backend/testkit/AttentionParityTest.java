package dev.tandem.backend.testkit;

import static dev.tandem.backend.testkit.BackendParity.TOLERANCE;
import static dev.tandem.backend.testkit.BackendParity.assertClose;
import static dev.tandem.backend.testkit.BackendParity.random;

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
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Attention of every type, at prefill and decode, through the paged cache with several block sizes,
 * then after swapping blocks out and in and copy-on-write copies: a backend under test against the
 * CPU backend running the same script. Every intermediate output is compared. Each backend's test
 * module extends it with the backend to open.
 */
public abstract class AttentionParityTest extends BackendParityTest {

  /**
   * Inputs of one scenario; block tables are drawn from a shuffled pool, as a block manager would.
   */
  private record Scenario(
      int blockSize,
      int numHeads,
      int headDim,
      boolean t5,
      int[] encoderLens,
      int[] decoderLens,
      int numBlocks,
      int[][] selfTables,
      int[][] crossTables,
      int[] spareBlocks) {

    static Scenario of(int blockSize, int numHeads, int headDim, boolean t5, long seed) {
      Random random = new Random(seed);
      int[] encoderLens = {7, 40, 1, 130};
      int[] decoderLens = {3, 9, 1, 33}; // prompt lengths; decode adds one token each
      List<Integer> free = new ArrayList<>();
      int numBlocks = 512;
      for (int b = 0; b < numBlocks; b++) {
        free.add(b);
      }
      java.util.Collections.shuffle(free, random);
      int n = encoderLens.length;
      int[][] self = new int[n][];
      int[][] cross = new int[n][];
      int next = 0;
      for (int i = 0; i < n; i++) {
        self[i] = new int[ceilDiv(decoderLens[i] + 1, blockSize)];
        for (int j = 0; j < self[i].length; j++) {
          self[i][j] = free.get(next++);
        }
        cross[i] = new int[ceilDiv(encoderLens[i], blockSize)];
        for (int j = 0; j < cross[i].length; j++) {
          cross[i][j] = free.get(next++);
        }
      }
      int[] spare = free.subList(next, numBlocks).stream().mapToInt(Integer::intValue).toArray();
      return new Scenario(
          blockSize,
          numHeads,
          headDim,
          t5,
          encoderLens,
          decoderLens,
          numBlocks,
          self,
          cross,
          spare);
    }

    static int ceilDiv(int a, int b) {
      return (a + b - 1) / b;
    }

    static int slot(int[] table, int position, int blockSize) {
      return table[position / blockSize] * blockSize + position % blockSize;
    }

    AttentionMetadata prefill() {
      int[] crossSlots = new int[Arrays.stream(encoderLens).sum()];
      int[] slots = new int[Arrays.stream(decoderLens).sum()];
      int e = 0;
      int d = 0;
      for (int i = 0; i < encoderLens.length; i++) {
        for (int t = 0; t < encoderLens[i]; t++) {
          crossSlots[e++] = slot(crossTables[i], t, blockSize);
        }
        for (int t = 0; t < decoderLens[i]; t++) {
          slots[d++] = slot(selfTables[i], t, blockSize);
        }
      }
      return AttentionMetadata.prefill(blockSize, encoderLens, crossSlots, decoderLens, slots);
    }

    AttentionMetadata decode(int[][] tables) {
      int n = decoderLens.length;
      int[] seqLens = new int[n];
      int[] slots = new int[n];
      for (int i = 0; i < n; i++) {
        seqLens[i] = decoderLens[i] + 1;
        slots[i] = slot(tables[i], decoderLens[i], blockSize);
      }
      return AttentionMetadata.decode(blockSize, seqLens, slots, tables, crossTables, encoderLens);
    }
  }

  /**
   * The outputs of a run by name, each in its own tensor: read when produced, or all at the end
   * (late), which a backend that defers work must give alike.
   */
  private static final class Outputs {
    private final AttentionBackend b;
    private final boolean late;
    private final Map<String, DeviceTensor> tensors = new LinkedHashMap<>();
    private final Map<String, float[]> values = new LinkedHashMap<>();

    Outputs(AttentionBackend b, boolean late) {
      this.b = b;
      this.late = late;
    }

    void put(String name, DeviceTensor t) {
      if (late) {
        tensors.put(name, t);
      } else {
        values.put(name, read(b, t));
      }
    }

    Map<String, float[]> values() {
      tensors.forEach((name, t) -> values.put(name, read(b, t)));
      return values;
    }
  }

  /** Runs the scenario on one backend; returns every attention output by name. */
  private static Map<String, float[]> run(AttentionBackend b, Scenario s, boolean readLate) {
    Random random = new Random(42); // same inputs on both backends
    int row = s.numHeads * s.headDim;
    int nEnc = Arrays.stream(s.encoderLens).sum();
    int nDec = Arrays.stream(s.decoderLens).sum();
    int n = s.decoderLens.length;
    float scale = s.t5 ? 1f : (float) (1 / Math.sqrt(s.headDim));
    int numBuckets = 32;
    PositionBias encoderBias =
        s.t5
            ? new PositionBias(b.upload(random(random, numBuckets * s.numHeads, 1)), 32, 128, true)
            : null;
    PositionBias decoderBias =
        s.t5
            ? new PositionBias(b.upload(random(random, numBuckets * s.numHeads, 1)), 32, 128, false)
            : null;
    b.allocateKvCache(new KvCacheSpec(2, s.numBlocks, 64, s.blockSize, s.numHeads, s.headDim));
    Outputs outputs = new Outputs(b, readLate);

    AttentionMetadata prefill = s.prefill();
    DeviceTensor encQ = b.upload(random(random, nEnc * row, 1));
    DeviceTensor encK = b.upload(random(random, nEnc * row, 1));
    DeviceTensor encV = b.upload(random(random, nEnc * row, 1));
    DeviceTensor decQ = b.upload(random(random, nDec * row, 1));
    DeviceTensor decK = b.upload(random(random, nDec * row, 1));
    DeviceTensor decV = b.upload(random(random, nDec * row, 1));
    DeviceTensor encOut = b.allocate(DataType.F32, (long) nEnc * row);
    DeviceTensor decOut = b.allocate(DataType.F32, (long) nDec * row);
    DeviceTensor crossOut = b.allocate(DataType.F32, (long) nDec * row);
    // The decode step's inputs too, before any attention: from the prefill to the decode the
    // backend sees attention calls only (a backend that queues work must not lose the prefill's).
    DeviceTensor q = b.upload(random(random, n * row, 1));
    DeviceTensor k = b.upload(random(random, n * row, 1));
    DeviceTensor v = b.upload(random(random, n * row, 1));
    b.attention(
        AttentionType.ENCODER,
        new AttentionSpec(0, s.numHeads, s.headDim, scale, encoderBias),
        encQ,
        encK,
        encV,
        encOut,
        prefill);
    outputs.put("encoder", encOut);
    b.attention(
        AttentionType.DECODER,
        new AttentionSpec(1, s.numHeads, s.headDim, scale, decoderBias),
        decQ,
        decK,
        decV,
        decOut,
        prefill);
    outputs.put("decoder prefill", decOut);
    b.attention(
        AttentionType.ENCODER_DECODER,
        new AttentionSpec(1, s.numHeads, s.headDim, scale, null),
        decQ,
        encK,
        encV,
        crossOut,
        prefill);
    outputs.put("cross prefill", crossOut);

    decodeBoth(b, s, s.decode(s.selfTables), scale, decoderBias, q, k, v, outputs, "");

    // Preempt by swap: every self and cross block of the batch out to the swap pool, back in at
    // other device blocks; then copy-on-write one sequence's last block. Decode must not change.
    List<BlockMapping> out1 = new ArrayList<>();
    List<BlockMapping> in1 = new ArrayList<>();
    int[][] moved = new int[n][];
    int cpuBlock = 0;
    int spare = 0;
    for (int i = 0; i < n; i++) {
      moved[i] = s.selfTables[i].clone();
      for (int j = 0; j < moved[i].length; j++) {
        out1.add(new BlockMapping(s.selfTables[i][j], cpuBlock));
        in1.add(new BlockMapping(cpuBlock++, s.spareBlocks[spare]));
        moved[i][j] = s.spareBlocks[spare++];
      }
    }
    b.swapOut(out1);
    b.swapIn(in1);
    int[][] forked = new int[n][];
    for (int i = 0; i < n; i++) {
      forked[i] = moved[i].clone();
    }
    int last = forked[3].length - 1;
    b.copyBlocks(List.of(new BlockMapping(moved[3][last], s.spareBlocks[spare])));
    forked[3][last] = s.spareBlocks[spare];
    decodeBoth(b, s, s.decode(forked), scale, decoderBias, q, k, v, outputs, " after swap");
    return outputs.values();
  }

  private static void decodeBoth(
      AttentionBackend b,
      Scenario s,
      AttentionMetadata decode,
      float scale,
      PositionBias decoderBias,
      DeviceTensor q,
      DeviceTensor k,
      DeviceTensor v,
      Outputs outputs,
      String suffix) {
    long rows = (long) s.decoderLens.length * s.numHeads * s.headDim;
    DeviceTensor out = b.allocate(DataType.F32, rows);
    b.attention(
        AttentionType.DECODER,
        new AttentionSpec(1, s.numHeads, s.headDim, scale, decoderBias),
        q,
        k,
        v,
        out,
        decode);
    outputs.put("decoder decode" + suffix, out);
    DeviceTensor cross = b.allocate(DataType.F32, rows);
    b.attention(
        AttentionType.ENCODER_DECODER,
        new AttentionSpec(1, s.numHeads, s.headDim, scale, null),
        q,
        null,
        null,
        cross,
        decode);
    outputs.put("cross decode" + suffix, cross);
  }

  private static float[] read(AttentionBackend b, DeviceTensor t) {
    float[] values = new float[(int) t.length()];
    b.read(t, 0, values, 0, values.length);
    return values;
  }

  @ParameterizedTest(name = "blockSize={0} heads={1} headDim={2} t5={3} readLate={4}")
  @CsvSource({
    "16, 8, 64, true, false",
    "16, 8, 64, false, false",
    "1, 4, 32, true, false",
    "1, 4, 32, false, false",
    "4, 12, 64, true, false",
    "4, 12, 64, false, false",
    "32, 2, 128, true, false",
    "8, 3, 40, false, false",
    "16, 8, 64, true, true",
    "1, 4, 32, false, true"
  })
  void everyAttentionTypeMatchesCpu(
      int blockSize, int numHeads, int headDim, boolean t5, boolean readLate) {
    Scenario s = Scenario.of(blockSize, numHeads, headDim, t5, blockSize * 1000L + headDim);
    Map<String, float[]> expected = run(cpu(), s, false);
    Map<String, float[]> actual = run(underTest(), s, readLate);
    for (String name : expected.keySet()) {
      assertClose(expected.get(name), actual.get(name), TOLERANCE, name);
    }
  }
}
