package dev.tandem.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class SimdTest {

  @Test
  void defaultsToTheWidestShapeOfTheCpu() {
    assertEquals(FloatVector.SPECIES_PREFERRED, Simd.choose(null));
    assertEquals(FloatVector.SPECIES_PREFERRED, Simd.choose(" "));
  }

  @Test
  void takesAnyWidthTheKernelsSupport() {
    for (int bits : new int[] {64, 128, 256, 512}) {
      assertEquals(bits, Simd.choose(String.valueOf(bits)).vectorBitSize());
      assertEquals(bits / Float.SIZE, Simd.choose(" " + bits + " ").length());
    }
  }

  @Test
  void rejectsOtherWidthsNamingTheAllowedOnes() {
    for (String bad : new String[] {"300", "1024", "32", "wide", "256.0"}) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> Simd.choose(bad));
      assertTrue(
          e.getMessage().startsWith("tandem.cpu.vector-bits=" + bad + ": must be one of [64, 128,"),
          e.getMessage());
    }
  }
}
