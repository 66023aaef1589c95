package dev.tandem.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tandem.api.backend.AttentionMetadata;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The packed decode metadata: no GPU needed, it is built on the host. */
class DeviceMetadataTest {

  /** Two sequences whose self tables have {@code longest} and 1 blocks, cross tables 2 blocks. */
  private static DeviceMetadata decode(int longest) {
    int[] longTable = new int[longest];
    Arrays.setAll(longTable, i -> 10 + i);
    return new DeviceMetadata(
        AttentionMetadata.decode(
            4,
            new int[] {Math.max(1, 4 * longest), 2},
            new int[] {0, 1},
            new int[][] {longTable, {7}},
            new int[][] {{20, 21}, {22, 23}},
            new int[] {8, 8}));
  }

  @Test
  void selfTableStrideIsTheLongestTableRoundedUpToAPowerOfTwo() {
    int[] longest = {1, 2, 3, 4, 5, 8, 9, 17};
    int[] strides = {1, 2, 4, 4, 8, 8, 16, 32};
    for (int i = 0; i < longest.length; i++) {
      assertEquals(strides[i], decode(longest[i]).tableStride, "longest table " + longest[i]);
    }
  }

  @Test
  void tablesArePaddedWithBlockZeroAndTheCrossTablesFollow() {
    DeviceMetadata md = decode(3); // stride 4
    int[] packed = md.packed;
    assertArrayEquals(
        new int[] {10, 11, 12, 0, 7, 0, 0, 0},
        Arrays.copyOfRange(packed, md.blockTables, md.blockTables + 8));
    assertEquals(md.blockTables + 2 * 4, md.crossBlockTables);
    assertEquals(2, md.crossTableStride);
    assertArrayEquals(
        new int[] {20, 21, 22, 23},
        Arrays.copyOfRange(packed, md.crossBlockTables, md.crossBlockTables + 4));
    assertEquals(packed.length, md.crossBlockTables + 4);
  }
}
