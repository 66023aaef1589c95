package dev.tandem.backend.cpu;

import static dev.tandem.backend.cpu.ScalarReference.random;
import static dev.tandem.backend.cpu.ScalarReference.relativeError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.backend.Activation;
import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.BackendConfig;
import dev.tandem.api.backend.DataType;
import dev.tandem.api.backend.DeviceTensor;
import java.util.Map;
import java.util.Random;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/** Every non-attention kernel against a scalar double-precision reference on random inputs. */
class CpuKernelsTest {

  private static final double TOLERANCE = 1e-5;

  private final AttentionBackend backend =
      new CpuBackendProvider().create(new BackendConfig(2, Map.of()));
  private final Random random = new Random(42);

  @AfterEach
  void close() {
    backend.close();
  }

  private float[] read(DeviceTensor t, int n) {
    float[] out = new float[n];
    backend.read(t, 0, out, 0, n);
    return out;
  }

  @ParameterizedTest(name = "m={0} k={1} n={2} bias={3}")
  @CsvSource({
    "1, 1, 1, false",
    "1, 17, 33, true",
    "1, 1024, 300, true",
    "3, 5, 7, true",
    "4, 8, 2, false",
    "5, 9, 3, true",
    "7, 513, 130, false",
    "11, 40, 9, true",
    "12, 16, 6, false",
    "16, 2048, 7, true",
    "17, 7, 5, true",
    "47, 5, 1, false",
    "33, 1030, 257, true",
    "127, 300, 13, true",
    "128, 64, 20, false",
    "64, 64, 64, false",
    "97, 1100, 130, true",
    "200, 600, 41, true",
    "45, 1030, 700, true",
    "131, 2100, 70, true",
    "256, 1025, 300, false",
    "259, 70, 33, true"
  })
  void linearMatchesReference(int m, int k, int n, boolean withBias) {
    float[] x = random(random, m * k);
    float[] w = random(random, n * k);
    float[] bias = withBias ? random(random, n) : null;
    DeviceTensor y = backend.allocate(DataType.F32, (long) m * n);
    backend.linear(
        backend.upload(x), m, k, backend.upload(w), withBias ? backend.upload(bias) : null, n, y);
    double[] ref = ScalarReference.linear(x, m, k, w, bias, n);
    assertTrue(relativeError(read(y, m * n), ref) < TOLERANCE);
  }

  @Test
  void linearUsesOnlyTheFirstNRowsOfLargerTensors() {
    float[] x = random(random, 10 * 6);
    float[] w = random(random, 4 * 6);
    DeviceTensor y = backend.upload(new float[10 * 4]);
    backend.linear(backend.upload(x), 3, 6, backend.upload(w), null, 4, y);
    float[] out = read(y, 40);
    assertTrue(relativeError(out, ScalarReference.linear(x, 3, 6, w, null, 4)) < TOLERANCE);
    for (int i = 12; i < 40; i++) {
      assertEquals(0f, out[i], "row beyond n was written");
    }
  }

  @Test
  void elementwiseOpsMatchReference() {
    int count = 100_003; // large enough to split over threads, not a multiple of the lanes
    float[] a = random(random, count);
    float[] b = random(random, count);
    DeviceTensor ta = backend.upload(a);
    DeviceTensor tb = backend.upload(b);
    DeviceTensor out = backend.allocate(DataType.F32, count);
    double[] ref = new double[count];

    backend.add(ta, tb, count, out);
    for (int i = 0; i < count; i++) {
      ref[i] = (double) a[i] + b[i];
    }
    assertTrue(relativeError(read(out, count), ref) < TOLERANCE);

    backend.multiply(ta, tb, count, out);
    for (int i = 0; i < count; i++) {
      ref[i] = (double) a[i] * b[i];
    }
    assertTrue(relativeError(read(out, count), ref) < TOLERANCE);

    backend.scale(ta, -0.37f, count, out);
    for (int i = 0; i < count; i++) {
      ref[i] = a[i] * -0.37;
    }
    assertTrue(relativeError(read(out, count), ref) < TOLERANCE);

    backend.add(ta, tb, count, ta); // the output may alias an input
    for (int i = 0; i < count; i++) {
      ref[i] = (double) a[i] + b[i];
    }
    assertTrue(relativeError(read(ta, count), ref) < TOLERANCE);
  }

  @ParameterizedTest
  @EnumSource(Activation.class)
  void activationsMatchReference(Activation kind) {
    DoubleUnaryOperator f =
        switch (kind) {
          case RELU -> v -> Math.max(v, 0);
          case GELU -> ScalarReference::gelu;
          case GELU_TANH -> ScalarReference::geluTanh;
          case SILU -> ScalarReference::silu;
        };
    int count = 20_011;
    float[] x = new float[count];
    for (int i = 0; i < count; i++) {
      x[i] = (float) (random.nextDouble() * 24 - 12);
    }
    DeviceTensor out = backend.allocate(DataType.F32, count);
    backend.activation(kind, backend.upload(x), count, out);
    double[] ref = new double[count];
    for (int i = 0; i < count; i++) {
      ref[i] = f.applyAsDouble(x[i]);
    }
    float[] got = read(out, count);
    assertTrue(relativeError(got, ref) < TOLERANCE, kind + ": " + relativeError(got, ref));
  }

  @Test
  void erfcHasFloat32RelativeErrorEvenInTheTail() {
    for (double x = -4; x <= 9; x += 0.01) {
      double ref = x > 3 ? ScalarReference.erfcLarge(x) : 1 - ScalarReference.erf(x);
      double got = Elementwise.erfc(x);
      assertTrue(Math.abs(got - ref) <= 2e-7 * ref, "erfc(" + x + ") = " + got + ", want " + ref);
    }
  }

  @Test
  void normsMatchReference() {
    int n = 37;
    int dim = 301;
    float[] x = random(random, n * dim);
    float[] w = random(random, dim);
    float[] bias = random(random, dim);
    for (int i = 0; i < x.length; i++) {
      x[i] += 3; // a large mean exposes one-pass variance cancellation
    }
    DeviceTensor tx = backend.upload(x);
    DeviceTensor out = backend.allocate(DataType.F32, n * dim);
    backend.rmsNorm(tx, n, dim, backend.upload(w), 1e-6f, out);
    assertTrue(
        relativeError(read(out, n * dim), ScalarReference.rmsNorm(x, n, dim, w, 1e-6)) < TOLERANCE);
    backend.layerNorm(tx, n, dim, backend.upload(w), backend.upload(bias), 1e-5f, out);
    assertTrue(
        relativeError(read(out, n * dim), ScalarReference.layerNorm(x, n, dim, w, bias, 1e-5))
            < TOLERANCE);
    backend.rmsNorm(tx, n, dim, backend.upload(w), 1e-6f, tx); // in place
    assertTrue(
        relativeError(read(tx, n * dim), ScalarReference.rmsNorm(x, n, dim, w, 1e-6)) < TOLERANCE);
  }

  @Test
  void embeddingGathersScaledRows() {
    int rows = 50;
    int dim = 19;
    int n = 40;
    float[] table = random(random, rows * dim);
    int[] ids = random.ints(n, 0, rows).toArray();
    DeviceTensor tIds = backend.allocate(DataType.I32, n);
    backend.write(tIds, 0, ids, 0, n);
    DeviceTensor out = backend.allocate(DataType.F32, n * dim);
    for (float scale : new float[] {1f, 4.5f}) {
      backend.embedding(tIds, n, backend.upload(table), dim, scale, out);
      double[] ref = new double[n * dim];
      for (int i = 0; i < n; i++) {
        for (int d = 0; d < dim; d++) {
          ref[i * dim + d] = table[ids[i] * dim + d] * (double) scale;
        }
      }
      assertTrue(relativeError(read(out, n * dim), ref) < TOLERANCE);
    }
    backend.write(tIds, 3, new int[] {rows}, 0, 1);
    var e =
        assertThrows(
            IllegalArgumentException.class,
            () -> backend.embedding(tIds, n, backend.upload(table), dim, 1f, out));
    assertTrue(e.getMessage().contains("id " + rows + " at position 3"), e.getMessage());
  }

  @Test
  void greedyTakesTheFirstLargestAndItsLogSoftmax() {
    int n = 9;
    int vocab = 32_128;
    float[] logits = random(random, n * vocab);
    for (int i = 0; i < logits.length; i++) {
      logits[i] *= 8;
    }
    logits[2 * vocab + 7] = 50;
    logits[2 * vocab + 900] = 50; // a tie: the first index wins, as torch.argmax
    logits[3 * vocab + 5] = Float.NEGATIVE_INFINITY; // a masked token adds nothing
    DeviceTensor ids = backend.allocate(DataType.I32, n);
    DeviceTensor logprobs = backend.allocate(DataType.F32, n);
    backend.greedy(backend.upload(logits), n, vocab, ids, logprobs);
    int[] got = new int[n];
    backend.read(ids, 0, got, 0, n);
    float[] gotLogprobs = new float[n];
    backend.read(logprobs, 0, gotLogprobs, 0, n);
    for (int r = 0; r < n; r++) {
      int best = 0;
      for (int i = 1; i < vocab; i++) {
        if (logits[r * vocab + i] > logits[r * vocab + best]) {
          best = i;
        }
      }
      double sum = 0;
      for (int i = 0; i < vocab; i++) {
        sum += Math.exp((double) logits[r * vocab + i] - logits[r * vocab + best]);
      }
      assertEquals(best, got[r], "row " + r);
      assertEquals(-Math.log(sum), gotLogprobs[r], 1e-6, "log-softmax of row " + r);
    }
    assertEquals(7, got[2]);
  }

  /** The fused residual add + norm equals the two calls it replaces (the SPI's default). */
  @Test
  void fusedAddNormsEqualAddThenNorm() {
    int n = 5;
    int dim = 70;
    float[] residual = random(random, n * dim);
    float[] delta = random(random, n * dim);
    float[] weight = random(random, dim);
    float[] bias = random(random, dim);
    for (boolean layer : new boolean[] {false, true}) {
      DeviceTensor fused = backend.upload(residual);
      DeviceTensor fusedOut = backend.allocate(DataType.F32, (long) n * dim);
      DeviceTensor twoCalls = backend.upload(residual);
      DeviceTensor twoCallsOut = backend.allocate(DataType.F32, (long) n * dim);
      DeviceTensor d = backend.upload(delta);
      DeviceTensor w = backend.upload(weight);
      DeviceTensor b = backend.upload(bias);
      backend.add(twoCalls, d, (long) n * dim, twoCalls);
      if (layer) {
        backend.addLayerNorm(fused, d, n, dim, w, b, 1e-5f, fusedOut);
        backend.layerNorm(twoCalls, n, dim, w, b, 1e-5f, twoCallsOut);
      } else {
        backend.addRmsNorm(fused, d, n, dim, w, 1e-6f, fusedOut);
        backend.rmsNorm(twoCalls, n, dim, w, 1e-6f, twoCallsOut);
      }
      assertArrayEquals(read(twoCalls, n * dim), read(fused, n * dim), "residual");
      assertArrayEquals(read(twoCallsOut, n * dim), read(fusedOut, n * dim), "norm");
      assertThrows(
          IllegalArgumentException.class,
          () -> backend.addRmsNorm(fused, fused, n, dim, w, 1e-6f, fusedOut));
    }
  }

  @Test
  void badShapesAndFreedTensorsFailClearly() {
    DeviceTensor x = backend.allocate(DataType.F32, 12);
    DeviceTensor w = backend.allocate(DataType.F32, 11);
    DeviceTensor y = backend.allocate(DataType.F32, 12);
    var e =
        assertThrows(IllegalArgumentException.class, () -> backend.linear(x, 3, 4, w, null, 3, y));
    assertTrue(e.getMessage().contains("weight (3, 4) needs 12 floats"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> backend.linear(x, 3, 4, x, null, 3, x));
    assertThrows(IllegalArgumentException.class, () -> backend.add(x, y, 13, y));
    assertThrows(
        IllegalArgumentException.class,
        () -> backend.greedy(x, 1, 12, backend.allocate(DataType.F32, 1), y));
    assertThrows(IllegalArgumentException.class, () -> backend.allocate(DataType.F32, 1L << 31));
    assertThrows(IndexOutOfBoundsException.class, () -> backend.write(x, 10, new float[3], 0, 3));
    backend.free(x);
    var freed = assertThrows(IllegalStateException.class, () -> backend.add(x, y, 1, y));
    assertTrue(freed.getMessage().contains("freed"), freed.getMessage());
  }
}
