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

  /**
   * Every GEMM kernel (the GPU's register and local-memory tiles, the CPU device's strips) on
   * whatever device runs here, launched alone and queued.
   */
  @ParameterizedTest(name = "{0} queue={1} M={2} K={3} N={4}")
  @CsvSource({
    "tiles, false, 1, 70, 33",
    "tiles, false, 3, 64, 100",
    "tiles, false, 33, 70, 257",
    "tiles, false, 128, 512, 512",
    "strips, false, 1, 70, 33",
    "strips, false, 3, 64, 100",
    "strips, false, 33, 70, 257",
    "strips, false, 128, 512, 512",
    "local, false, 3, 64, 100",
    "local, false, 33, 70, 257",
    "local, false, 128, 512, 512",
    "local, true, 4, 31, 33",
    "local, true, 33, 70, 257",
    "local, true, 200, 96, 40"
  })
  void gemmKernelsMatchCpu(String gemm, boolean queue, int m, int k, int n) {
    try (AttentionBackend device =
        Backends.opencl(Map.of("opencl.gemm", gemm, "opencl.queue", String.valueOf(queue)))) {
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
