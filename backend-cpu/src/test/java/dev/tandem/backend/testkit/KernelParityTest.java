package dev.tandem.backend.testkit;

import static dev.tandem.backend.testkit.BackendParity.TOLERANCE;
import static dev.tandem.backend.testkit.BackendParity.assertClose;
import static dev.tandem.backend.testkit.BackendParity.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.tandem.api.backend.Activation;
import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.DataType;
import dev.tandem.api.backend.DeviceTensor;
import java.util.Arrays;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every element-wise, norm, GEMM and reduction kernel of a backend under test against the CPU
 * backend on random inputs. Each GPU backend's test module extends it with the backend to open and
 * its own kernels' tests.
 */
public abstract class KernelParityTest extends BackendParityTest {

  /** Runs the same operation on both backends and returns (reference, under test) outputs. */
  protected float[][] both(Function<AttentionBackend, float[]> op) {
    return new float[][] {op.apply(cpu()), op.apply(underTest())};
  }

  protected static float[] readAll(AttentionBackend b, DeviceTensor t) {
    float[] out = new float[(int) t.length()];
    b.read(t, 0, out, 0, out.length);
    return out;
  }

  @ParameterizedTest(name = "M={0} K={1} N={2} bias={3}")
  @CsvSource({
    "1, 512, 512, true",
    "1, 70, 33, false",
    "3, 64, 100, true",
    "8, 512, 2048, false",
    "9, 512, 512, true",
    "33, 70, 257, true",
    "256, 512, 512, false",
    "300, 768, 3072, true",
    "1024, 512, 1000, true",
    // 9 x 17 tiles of 128 x 128: enough blocks for a GPU of up to 153 multiprocessors to take its
    // largest tile (the benchmarks' LM head does; nothing else here would)
    "1100, 64, 2100, true"
  })
  void linearMatchesCpu(int m, int k, int n, boolean withBias) {
    Random random = new Random(m * 31L + k * 7L + n);
    float[] x = random(random, m * k, 1);
    float[] w = random(random, n * k, 0.05f);
    float[] bias = random(random, n, 0.5f);
    float[][] r =
        both(
            b -> {
              DeviceTensor y = b.allocate(DataType.F32, (long) m * n);
              b.linear(b.upload(x), m, k, b.upload(w), withBias ? b.upload(bias) : null, n, y);
              return readAll(b, y);
            });
    assertClose(r[0], r[1], TOLERANCE, "linear " + m + "x" + k + "x" + n);
  }

  @Test
  void elementwiseMatchCpu() {
    Random random = new Random(1);
    int n = 100_003;
    float[] a = random(random, n, 2);
    float[] c = random(random, n, 2);
    float[][] add =
        both(
            b -> {
              DeviceTensor out = b.allocate(DataType.F32, n);
              b.add(b.upload(a), b.upload(c), n, out);
              return readAll(b, out);
            });
    assertClose(add[0], add[1], TOLERANCE, "add");
    float[][] mul =
        both(
            b -> {
              DeviceTensor x = b.upload(a);
              b.multiply(x, b.upload(c), n, x); // in place: out aliases a
              return readAll(b, x);
            });
    assertClose(mul[0], mul[1], TOLERANCE, "multiply");
    float[][] scaled =
        both(
            b -> {
              DeviceTensor out = b.allocate(DataType.F32, n);
              b.scale(b.upload(a), -0.37f, n - 3, out); // fewer than capacity
              return readAll(b, out);
            });
    assertClose(scaled[0], scaled[1], TOLERANCE, "scale");
  }

  @ParameterizedTest
  @EnumSource(Activation.class)
  void activationMatchesCpu(Activation kind) {
    float[] x = random(new Random(kind.ordinal()), 65_537, 3);
    float[][] r =
        both(
            b -> {
              DeviceTensor out = b.allocate(DataType.F32, x.length);
              b.activation(kind, b.upload(x), x.length, out);
              return readAll(b, out);
            });
    assertClose(r[0], r[1], TOLERANCE, kind.name());
  }

  @ParameterizedTest(name = "n={0} dim={1}")
  @CsvSource({"1, 512", "7, 768", "33, 70", "300, 1024", "2, 4096"})
  void normsMatchCpu(int n, int dim) {
    Random random = new Random(n * dim);
    float[] x = random(random, n * dim, 3);
    for (int i = 0; i < x.length; i++) {
      x[i] += 5; // a mean far from 0 checks the variance pass
    }
    float[] weight = random(random, dim, 1);
    float[] bias = random(random, dim, 1);
    float[][] rms =
        both(
            b -> {
              DeviceTensor out = b.allocate(DataType.F32, (long) n * dim);
              b.rmsNorm(b.upload(x), n, dim, b.upload(weight), 1e-6f, out);
              return readAll(b, out);
            });
    assertClose(rms[0], rms[1], TOLERANCE, "rmsNorm");
    float[][] layer =
        both(
            b -> {
              DeviceTensor in = b.upload(x);
              b.layerNorm(in, n, dim, b.upload(weight), b.upload(bias), 1e-5f, in); // in place
              return readAll(b, in);
            });
    assertClose(layer[0], layer[1], TOLERANCE, "layerNorm");
  }

  /** The residual add fused with the norm: the norm's output and the updated residual. */
  @ParameterizedTest(name = "n={0} dim={1}")
  @CsvSource({"1, 512", "7, 768", "33, 70"})
  void fusedAddNormsMatchCpu(int n, int dim) {
    Random random = new Random(n + dim);
    float[] residual = random(random, n * dim, 3);
    float[] delta = random(random, n * dim, 2);
    float[] weight = random(random, dim, 1);
    float[] bias = random(random, dim, 1);
    float[][] rms =
        both(
            b -> {
              DeviceTensor h = b.upload(residual);
              DeviceTensor out = b.allocate(DataType.F32, (long) n * dim);
              b.addRmsNorm(h, b.upload(delta), n, dim, b.upload(weight), 1e-6f, out);
              return concat(readAll(b, out), readAll(b, h));
            });
    assertClose(rms[0], rms[1], TOLERANCE, "addRmsNorm (out, then residual)");
    float[][] layer =
        both(
            b -> {
              DeviceTensor h = b.upload(residual);
              b.addLayerNorm(
                  h, b.upload(delta), n, dim, b.upload(weight), b.upload(bias), 1e-5f, h);
              return readAll(b, h);
            });
    assertClose(layer[0], layer[1], TOLERANCE, "addLayerNorm in place");
  }

  private static float[] concat(float[] a, float[] b) {
    float[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  @Test
  void embeddingGathersScaledRows() {
    Random random = new Random(3);
    int vocab = 1000;
    int dim = 96;
    float[] table = random(random, vocab * dim, 1);
    int[] ids = random.ints(57, 0, vocab).toArray();
    float[][] r =
        both(
            b -> {
              DeviceTensor idTensor = b.allocate(DataType.I32, ids.length);
              b.write(idTensor, 0, ids, 0, ids.length);
              DeviceTensor out = b.allocate(DataType.F32, (long) ids.length * dim);
              b.embedding(idTensor, ids.length, b.upload(table), dim, 22.6f, out);
              return readAll(b, out);
            });
    assertClose(r[0], r[1], TOLERANCE, "embedding");
  }

  @Test
  void greedyMatchesCpuIncludingTies() {
    Random random = new Random(4);
    int n = 37;
    int vocab = 32_128;
    float[] logits = random(random, n * vocab, 4);
    logits[5 * vocab + 100] = 99; // a tie: the lower index must win
    logits[5 * vocab + 20_000] = 99;
    Arrays.fill(logits, 7 * vocab, 7 * vocab + 1_000, Float.NEGATIVE_INFINITY); // masked tokens
    int[][] ids = new int[2][];
    float[][] logprobs = new float[2][];
    int i = 0;
    for (AttentionBackend b : new AttentionBackend[] {cpu(), underTest()}) {
      DeviceTensor idsOut = b.allocate(DataType.I32, n);
      DeviceTensor logprobsOut = b.allocate(DataType.F32, n);
      b.greedy(b.upload(logits), n, vocab, idsOut, logprobsOut);
      ids[i] = new int[n];
      b.read(idsOut, 0, ids[i], 0, n);
      logprobs[i] = readAll(b, logprobsOut);
      i++;
    }
    assertArrayEquals(ids[0], ids[1]);
    assertClose(logprobs[0], logprobs[1], TOLERANCE, "greedy log-softmax");
  }
}
