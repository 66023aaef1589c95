package dev.tandem.backend.cuda;

import static dev.tandem.backend.testkit.BackendParity.TOLERANCE;
import static dev.tandem.backend.testkit.BackendParity.assertClose;
import static dev.tandem.backend.testkit.BackendParity.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.tandem.api.backend.Activation;
import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.DataType;
import dev.tandem.api.backend.DeviceTensor;
import dev.tandem.api.backend.PositionBias;
import dev.tandem.backend.testkit.KernelParityTest;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The shared kernel parity tests on CUDA, and its own: TF32, the PTX image, T5's bias buckets. */
class CudaKernelTest extends KernelParityTest {

  @Override
  protected AttentionBackend openBackendUnderTest() {
    return Backends.cuda();
  }

  @ParameterizedTest(name = "TF32 M={0} K={1} N={2}")
  @CsvSource({"64, 512, 512", "300, 768, 3072", "17, 70, 33"})
  void tf32LinearIsCloseToFloat32(int m, int k, int n) {
    AttentionBackend tf32;
    try {
      tf32 = Backends.cuda(Map.of("cuda.tf32", "true"));
    } catch (IllegalArgumentException e) { // a device older than sm_80
      Assumptions.abort(e.getMessage());
      return;
    }
    try {
      Random random = new Random(k + n);
      float[] x = random(random, m * k, 1);
      float[] w = random(random, n * k, 0.05f);
      float[] bias = random(random, n, 0.5f);
      Function<AttentionBackend, float[]> op =
          b -> {
            DeviceTensor y = b.allocate(DataType.F32, (long) m * n);
            b.linear(b.upload(x), m, k, b.upload(w), b.upload(bias), n, y);
            return readAll(b, y);
          };
      // TF32 keeps 10 mantissa bits: about 1e-3 relative per product, less after summing.
      assertClose(op.apply(cpu()), op.apply(tf32), 5e-3, "tf32 linear");
    } finally {
      tf32.close();
    }
  }

  @Test
  void ptxImageGivesTheSameResults() {
    AttentionBackend ptx = Backends.cuda(Map.of("cuda.kernels", "ptx"));
    try {
      Random random = new Random(5);
      float[] x = random(random, 40 * 96, 1);
      float[] w = random(random, 80 * 96, 0.1f);
      Function<AttentionBackend, float[]> op =
          b -> {
            DeviceTensor y = b.allocate(DataType.F32, 40 * 80);
            b.linear(b.upload(x), 40, 96, b.upload(w), null, 80, y);
            DeviceTensor z = b.allocate(DataType.F32, 40 * 80);
            b.activation(Activation.GELU, y, 40 * 80, z);
            return readAll(b, z);
          };
      assertClose(op.apply(cpu()), op.apply(ptx), TOLERANCE, "linear + gelu from PTX");
    } finally {
      ptx.close();
    }
  }

  @ParameterizedTest(name = "buckets={0} maxDistance={1} bidirectional={2}")
  @CsvSource({"32, 128, true", "32, 128, false", "64, 256, true", "16, 40, false", "33, 77, true"})
  void biasBucketsEqualTheReference(int numBuckets, int maxDistance, boolean bidirectional) {
    CudaBackend backend = (CudaBackend) underTest();
    DeviceTensor table = backend.allocate(DataType.F32, 1);
    PositionBias bias = new PositionBias(table, numBuckets, maxDistance, bidirectional);
    int from = -5000;
    int count = 10_001;
    int[] device = backend.bucketsOnDevice(from, count, bias);
    int[] expected = new int[count];
    for (int i = 0; i < count; i++) {
      expected[i] = PositionBias.bucket(from + i, bidirectional, numBuckets, maxDistance);
    }
    assertArrayEquals(expected, device);
  }
}
