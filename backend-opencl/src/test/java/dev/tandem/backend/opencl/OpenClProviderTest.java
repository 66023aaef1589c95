package dev.tandem.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.HotSpotDiagnosticMXBean;
import dev.tandem.api.Availability;
import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionBackendProvider;
import dev.tandem.api.backend.BackendConfig;
import dev.tandem.api.backend.DataType;
import dev.tandem.api.backend.DeviceTensor;
import dev.tandem.backend.testkit.BackendParity;
import java.lang.management.ManagementFactory;
import java.util.Map;
import java.util.Random;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/**
 * Discovery, availability, options and device memory management: what must hold with or without an
 * OpenCL device (the device-dependent parts skip with the reason printed).
 */
class OpenClProviderTest {

  @Test
  void discoveredByNameWithAPriorityByDeviceType() {
    AttentionBackendProvider provider =
        ServiceLoader.load(AttentionBackendProvider.class).stream()
            .map(ServiceLoader.Provider::get)
            .filter(p -> p.name().equals("opencl"))
            .findFirst()
            .orElseThrow();
    int priority = provider.priority();
    assertTrue(priority == 200 || priority == 50, "priority " + priority);
    if (provider.availability().available()) {
      try (AttentionBackend backend = provider.create(BackendConfig.defaults())) {
        // A GPU outranks the cpu backend (100); an OpenCL CPU device such as PoCL does not.
        assertEquals(backend.deviceName().contains("(GPU,") ? 200 : 50, priority);
      }
    }
  }

  @Test
  void availabilityNeverThrowsAndExplainsItself() {
    OpenClBackendProvider provider = new OpenClBackendProvider();
    Availability availability = provider.availability();
    System.out.println("opencl availability: " + availability);
    if (availability.available()) {
      try (AttentionBackend backend = provider.create(BackendConfig.defaults())) {
        System.out.println("opencl device: " + backend.deviceName());
        assertTrue(backend.freeMemoryBytes() > 0);
      }
    } else {
      assertFalse(availability.reason().isBlank());
      IllegalStateException e =
          assertThrows(
              IllegalStateException.class, () -> provider.create(BackendConfig.defaults()));
      assertTrue(e.getMessage().contains("unavailable"), e.getMessage());
    }
  }

  @Test
  void optionsAreValidated() {
    OpenClBackendProvider provider = new OpenClBackendProvider();
    IllegalArgumentException unknown =
        assertThrows(
            IllegalArgumentException.class,
            () -> provider.create(new BackendConfig(0, Map.of("opencl.devcie", "0"))));
    assertTrue(unknown.getMessage().contains("opencl.devcie"), unknown.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> provider.create(new BackendConfig(0, Map.of("opencl.gemm", "fast"))));
    IllegalArgumentException queue =
        assertThrows(
            IllegalArgumentException.class,
            () -> provider.create(new BackendConfig(0, Map.of("opencl.queue", "yes"))));
    assertTrue(queue.getMessage().contains("true or false"), queue.getMessage());
    IllegalArgumentException attention =
        assertThrows(
            IllegalArgumentException.class,
            () -> provider.create(new BackendConfig(0, Map.of("opencl.attention", "blocks"))));
    assertTrue(attention.getMessage().contains("items or groups"), attention.getMessage());
    Backends.opencl(); // the rest needs a device
    IllegalStateException missing =
        assertThrows(
            IllegalStateException.class,
            () -> provider.create(new BackendConfig(0, Map.of("opencl.device", "99"))));
    assertTrue(missing.getMessage().contains("0: "), "lists the devices: " + missing.getMessage());
    IllegalStateException noName =
        assertThrows(
            IllegalStateException.class,
            () -> provider.create(new BackendConfig(0, Map.of("opencl.device", "no-such-gpu"))));
    assertTrue(noName.getMessage().contains("no-such-gpu"), noName.getMessage());
    String name = OpenClDevices.list().get(0).getName().strip();
    try (AttentionBackend byName =
            provider.create(new BackendConfig(0, Map.of("opencl.device", name.substring(0, 3))));
        AttentionBackend byIndex =
            provider.create(new BackendConfig(0, Map.of("opencl.device", "0")))) {
      assertTrue(byName.deviceName().contains(name), byName.deviceName());
      assertTrue(byIndex.deviceName().contains(name), byIndex.deviceName());
    }
  }

  @Test
  void profileTimesEveryOpByName() {
    assertEquals(DeviceState.OP_ATTENTION_GROUPS + 1, OpProfile.ops(), "a name for every op code");
    try (AttentionBackend b = Backends.opencl(Map.of("opencl.profile", "true"))) {
      DeviceTensor x = b.upload(new float[] {1, 2, 3, 4});
      b.add(x, x, 4, x);
      float[] back = new float[4];
      b.read(x, 0, back, 0, 4);
      assertArrayEquals(new float[] {2, 4, 6, 8}, back);
      String table = ((OpenClBackend) b).profileTable();
      assertTrue(table.contains("\nadd ") && table.contains("\nstage-out "), table);
    }
    try (AttentionBackend b = Backends.opencl()) {
      assertEquals(null, ((OpenClBackend) b).profileTable(), "off by default");
    }
  }

  @Test
  void arenasGrowWithoutLosingContentsAndReuseFreedRangesAsZeros() {
    try (AttentionBackend b = Backends.opencl()) {
      float[] first = BackendParity.random(new Random(1), 1000, 1);
      DeviceTensor a = b.upload(first);
      DeviceTensor ids = b.allocate(DataType.I32, 3);
      b.write(ids, 0, new int[] {7, 8, 9}, 0, 3);
      // A collection while device-only contents exist: a moved host array would lose them on a GPU.
      System.gc();
      // Beyond the initial capacities: both arenas are replaced by larger copies.
      int beyond = DeviceOps.MIN_RESIDENT + 1;
      DeviceTensor big = b.allocate(DataType.F32, beyond);
      DeviceTensor bigInts = b.allocate(DataType.I32, beyond);
      float[] back = new float[first.length];
      b.read(a, 0, back, 0, back.length);
      assertArrayEquals(first, back);
      int[] idsBack = new int[3];
      b.read(ids, 0, idsBack, 0, 3);
      assertArrayEquals(new int[] {7, 8, 9}, idsBack);
      // A large staged transfer, in several chunks, at an offset.
      float[] large = BackendParity.random(new Random(2), (3 << 20) - 5, 1);
      b.write(big, 5, large, 0, large.length);
      float[] largeBack = new float[large.length];
      b.read(big, 5, largeBack, 0, largeBack.length);
      assertArrayEquals(large, largeBack);
      b.free(a);
      DeviceTensor reused = b.allocate(DataType.F32, 1000);
      float[] zeros = new float[1000];
      b.read(reused, 0, zeros, 0, zeros.length);
      assertArrayEquals(new float[1000], zeros);
      b.free(bigInts);
      assertThrows(IllegalStateException.class, () -> b.read(bigInts, 0, new int[1], 0, 1));
      assertThrows(IndexOutOfBoundsException.class, () -> b.read(reused, 999, new float[2], 0, 2));
      assertThrows(IllegalArgumentException.class, () -> b.read(ids, 0, new float[1], 0, 1));
    }
  }

  @Test
  void arenaMergesFreedNeighbours() {
    Arena arena = new Arena();
    int a = arena.allocate(16, 64);
    int b = arena.allocate(16, 64);
    int c = arena.allocate(16, 64);
    assertEquals(-1, arena.allocate(32, 64));
    arena.release(a, 16);
    arena.release(b, 16);
    assertEquals(a, arena.allocate(32, 64)); // a and b merged into one hole
    arena.release(c, 16);
    assertEquals(48, arena.capacityFor(16)); // c, at the top, lowered it back to 32
    assertEquals(32, arena.used());
  }

  /**
   * Another collector, or G1 with regions over 32 MiB, moves the device-resident arrays: the
   * backend is then unavailable, saying which flag to set (the pom runs this test again under
   * -XX:+UseParallelGC and under -XX:G1HeapRegionSize=64m).
   */
  @Test
  void availableOnlyWhereTheCollectorKeepsDeviceArraysInPlace() {
    boolean g1 =
        ManagementFactory.getGarbageCollectorMXBeans().stream()
            .anyMatch(collector -> collector.getName().startsWith("G1"));
    long region =
        Long.parseLong(
            ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
                .getVMOption("G1HeapRegionSize")
                .getValue());
    Availability availability = new OpenClBackendProvider().availability();
    System.out.println("collector G1 " + g1 + ", regions " + region + ": " + availability);
    if (!g1) {
      assertFalse(availability.available());
      assertTrue(availability.reason().contains("-XX:+UseG1GC"), availability.reason());
    } else if (region > 32 << 20) {
      assertFalse(availability.available());
      assertTrue(availability.reason().contains("-XX:G1HeapRegionSize=32m"), availability.reason());
    } else {
      assertFalse(availability.reason().contains("XX:"), availability.reason());
    }
  }
}
