package dev.tandem.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.Availability;
import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.backend.AttentionMetadata;
import dev.tandem.api.backend.BackendConfig;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/** What holds with or without a GPU: discovery, availability reasons, options, metadata packing. */
class CudaProviderTest {

  @Test
  void discoveredByNameWithItsPriority() {
    AttentionBackendProvider provider =
        ServiceLoader.load(AttentionBackendProvider.class).stream()
            .map(ServiceLoader.Provider::get)
            .filter(p -> p.name().equals("cuda"))
            .findFirst()
            .orElseThrow();
    assertEquals(300, provider.priority());
  }

  @Test
  void availabilityNeverThrowsAndExplainsItself() {
    CudaBackendProvider provider = new CudaBackendProvider();
    Availability availability = provider.availability();
    System.out.println("cuda availability: " + availability);
    if (availability.available()) {
      try (AttentionBackend backend = provider.create(BackendConfig.defaults())) {
        System.out.println("cuda device: " + backend.deviceName());
        assertTrue(backend.freeMemoryBytes() > 0);
      }
    } else {
      assertFalse(availability.reason().isBlank());
      IllegalStateException e =
          assertThrows(
              IllegalStateException.class, () -> provider.create(BackendConfig.defaults()));
      assertTrue(e.getMessage().contains(availability.reason()), e.getMessage());
    }
  }

  @Test
  void optionsAreValidated() {
    assertEquals(
        new CudaSettings(0, false, CudaKernels.Image.FATBIN, true, false, true, true),
        CudaSettings.from(BackendConfig.defaults()));
    assertEquals(
        new CudaSettings(1, true, CudaKernels.Image.PTX, false, true, false, false),
        CudaSettings.from(
            new BackendConfig(
                0,
                Map.of(
                    "cuda.device",
                    "1",
                    "cuda.tf32",
                    "TRUE",
                    "cuda.kernels",
                    "ptx",
                    "cuda.device-sampling",
                    "false",
                    "cuda.graphs",
                    "true",
                    "cuda.decode-attention",
                    "Lanes",
                    "cuda.gemm",
                    "plain",
                    "opencl.x",
                    "ignored"))));
    IllegalArgumentException unknown =
        assertThrows(
            IllegalArgumentException.class,
            () -> CudaSettings.from(new BackendConfig(0, Map.of("cuda.tf16", "true"))));
    assertTrue(unknown.getMessage().contains("cuda.tf16"), unknown.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> CudaSettings.from(new BackendConfig(0, Map.of("cuda.tf32", "yes"))));
    assertThrows(
        IllegalArgumentException.class,
        () -> CudaSettings.from(new BackendConfig(0, Map.of("cuda.device-sampling", "no"))));
    assertThrows(
        IllegalArgumentException.class,
        () -> CudaSettings.from(new BackendConfig(0, Map.of("cuda.device", "-1"))));
    IllegalArgumentException decode =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                CudaSettings.from(new BackendConfig(0, Map.of("cuda.decode-attention", "warps"))));
    assertTrue(decode.getMessage().contains("half-warps or lanes"), decode.getMessage());
    IllegalArgumentException gemm =
        assertThrows(
            IllegalArgumentException.class,
            () -> CudaSettings.from(new BackendConfig(0, Map.of("cuda.gemm", "fast"))));
    assertTrue(
        gemm.getMessage().contains("cuda.gemm=fast: must be staged or plain"), gemm.getMessage());
  }

  @Test
  void decodeAttentionTakesHalfWarpsOnlyForHeadDims64And128WhenAligned() {
    assertEquals(64, CudaAttention.halfWarpHeadDim(true, 64, 0x1000));
    assertEquals(128, CudaAttention.halfWarpHeadDim(true, 128, 0x7f00));
    assertEquals(0, CudaAttention.halfWarpHeadDim(true, 32, 0x1000));
    assertEquals(0, CudaAttention.halfWarpHeadDim(true, 40, 0x1000));
    assertEquals(0, CudaAttention.halfWarpHeadDim(true, 64, 0x1004)); // not 16-byte aligned
    assertEquals(0, CudaAttention.halfWarpHeadDim(false, 64, 0x1000)); // decode-attention=lanes
  }

  @Test
  void prefillMetadataPacksPrefixSumsAndSlots() {
    AttentionMetadata m =
        AttentionMetadata.prefill(
            4,
            new int[] {2, 0, 3},
            new int[] {8, 9, 20, 21, 22},
            new int[] {1, 1, 2},
            new int[] {4, 12, 16, 17});
    DeviceMetadata md = new DeviceMetadata(m);
    assertArrayEquals(
        new int[] {0, 2, 2, 5, 0, 1, 2, 4, 8, 9, 20, 21, 22, 4, 12, 16, 17}, md.packed);
    assertEquals(3, md.maxEncoderLen);
    assertEquals(2, md.maxDecoderLen);
  }

  @Test
  void decodeMetadataPadsTablesToTheLongest() {
    AttentionMetadata m =
        AttentionMetadata.decode(
            2,
            new int[] {3, 1},
            new int[] {11, 6},
            new int[][] {{5, 5}, {3}},
            new int[][] {{7}, {8, 9}},
            new int[] {2, 4});
    DeviceMetadata md = new DeviceMetadata(m);
    assertEquals(2, md.tableStride);
    assertArrayEquals(new int[] {3, 1, 11, 6, 2, 4, 5, 5, 3, 0, 7, 0, 8, 9}, md.packed);
    DeviceMetadata shortSelfTable =
        new DeviceMetadata(
            AttentionMetadata.decode(
                2,
                new int[] {5},
                new int[] {4},
                new int[][] {{1, 2}},
                new int[][] {{0}},
                new int[] {1}));
    shortSelfTable.checkTablesCover(true); // the cross table covers its 1 token
    IllegalArgumentException shortTable =
        assertThrows(IllegalArgumentException.class, () -> shortSelfTable.checkTablesCover(false));
    assertTrue(shortTable.getMessage().contains("self block table"), shortTable.getMessage());
  }
}
