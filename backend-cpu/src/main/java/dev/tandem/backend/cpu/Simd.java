package dev.tandem.backend.cpu;

import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float vector shape every cpu kernel computes with: the CPU's widest (AVX2 256 bits, AVX-512
 * 512 bits), unless {@code -Dtandem.cpu.vector-bits=64|128|256|512} names another. A shape wider
 * than the CPU's still computes correctly, in the Vector API's Java fallback, orders of magnitude
 * slower: that is how an AVX2 machine tests the 16-lane paths an AVX-512 machine runs. A narrower
 * one lets a benchmark compare widths on one machine. It is fixed for the JVM's life: the kernels
 * hold it in {@code static final} fields so that C2 compiles their vectors to registers.
 */
final class Simd {

  static final String PROPERTY = "tandem.cpu.vector-bits";

  private static final List<Integer> BITS =
      List.of(64, 128, 256, 512); // before SPECIES: it reads it

  static final VectorSpecies<Float> SPECIES = choose(System.getProperty(PROPERTY));

  private Simd() {}

  /** The species for a {@link #PROPERTY} value; null or blank means the CPU's widest. */
  static VectorSpecies<Float> choose(String bits) {
    if (bits == null || bits.isBlank()) {
      return FloatVector.SPECIES_PREFERRED;
    }
    try {
      int size = Integer.parseInt(bits.strip());
      if (BITS.contains(size)) {
        return VectorSpecies.of(float.class, VectorShape.forBitSize(size));
      }
    } catch (NumberFormatException e) {
      // reported below, with the allowed values
    }
    throw new IllegalArgumentException(
        PROPERTY
            + "="
            + bits
            + ": must be one of "
            + BITS
            + " (this CPU's widest: "
            + FloatVector.SPECIES_PREFERRED.vectorBitSize()
            + ")");
  }

  /** True when the CPU runs {@link #SPECIES} in registers, false for the Java fallback. */
  static boolean accelerated() {
    return SPECIES.vectorBitSize() <= FloatVector.SPECIES_PREFERRED.vectorBitSize();
  }

  /** "256-bit (8 float lanes)", with a warning when not {@link #accelerated()}. */
  static String describe() {
    return SPECIES.vectorBitSize()
        + "-bit ("
        + SPECIES.length()
        + " float lanes"
        + (accelerated() ? ")" : ", wider than this CPU's: not accelerated, for tests only)");
  }
}
