package dev.tandem.backend.opencl;

import static dev.tandem.backend.testkit.BackendParity.TOLERANCE;
import static dev.tandem.backend.testkit.BackendParity.assertClose;
import static dev.tandem.backend.testkit.BackendParity.random;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.DataType;
import dev.tandem.api.backend.DeviceTensor;
import dev.tandem.backend.testkit.KernelParityTest;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The shared kernel parity tests on OpenCL, and both of its GEMM kernels. */
class OpenClKernelTest extends KernelParityTest {

  @Override
  protected AttentionBackend openBackendUnderTest() {
    return Backends.opencl();
  }

  /** Both GEMM kernels (the GPU's tiles, the CPU device's strips) on whatever device runs here. */
  @ParameterizedTest(name = "{0} M={1} K={2} N={3}")
  @CsvSource({
    "tiles, 1, 70, 33",
    "tiles, 3, 64, 100",
    "tiles, 33, 70, 257",
    "tiles, 128, 512, 512",
    "strips, 1, 70, 33",
    "strips, 3, 64, 100",
    "strips, 33, 70, 257",
    "strips, 128, 512, 512"
  })
  void gemmKernelsMatchCpu(String gemm, int m, int k, int n) {
    try (AttentionBackend device = Backends.opencl(Map.of("opencl.gemm", gemm))) {
      Random random = new Random(m + k + n);
      float[] x = random(random, m * k, 1);
      float[] w = random(random, n * k, 0.05f);
      float[] bias = random(random, n, 0.5f);
      Function<AttentionBackend, float[]> op =
          b -> {
            DeviceTensor y = b.allocate(DataType.F32, (long) m * n);
            DeviceTensor weight = b.upload(w);
            b.linear(b.upload(x), m, k, weight, b.upload(bias), n, y);
            b.write(weight, 0, new float[] {1f}, 0, 1); // drops the transposed copy
            b.linear(b.upload(x), m, k, weight, null, n, y); // transposes the new values
            return readAll(b, y);
          };
      assertClose(op.apply(cpu()), op.apply(device), TOLERANCE, gemm + " linear");
    }
  }
}
