package dev.tandem.backend.cuda;

import dev.tandem.api.backend.AttentionMetadata;

/**
 * One step's {@link AttentionMetadata} packed into a single int array, so that it goes to the
 * device in one copy per step instead of one per array and layer. Offsets are in ints.
 *
 * <p>Prefill: {@code encoderStarts (n + 1) | decoderStarts (n + 1) | crossSlotMapping |
 * slotMapping}, where the starts are prefix sums of the lengths. Decode: {@code seqLens (n) |
 * slotMapping (n) | crossSeqLens (n) | blockTables (n, tableStride) | crossBlockTables (n,
 * crossTableStride)}, tables padded with block 0 (never read: the lengths bound every read).
 *
 * <p>The self tables' stride is the longest table rounded up to a power of two: a decode step's
 * kernel parameters (the stride, and the cross tables' offset after the self tables) then change
 * only when the longest sequence doubles, not with every block it grows by, so that with option
 * {@code cuda.graphs} its launches repeat and replay as one graph for many steps.
 */
final class DeviceMetadata {

  final AttentionMetadata source;
  final int[] packed;
  final int numSeqs;
  private final int prefillQueries;
  // prefill
  final int encoderStarts;
  final int decoderStarts;
  final int crossSlots;
  final int maxEncoderLen;
  final int maxDecoderLen;
  // both
  final int slots;
  // decode
  final int seqLens;
  final int crossSeqLens;
  final int blockTables;
  final int tableStride;
  final int crossBlockTables;
  final int crossTableStride;

  /** The device buffer holding {@link #packed}; set when uploaded. */
  private long device;

  DeviceMetadata(AttentionMetadata m) {
    this.source = m;
    this.numSeqs = m.numSequences();
    this.prefillQueries = m.prefill() ? java.util.Arrays.stream(m.seqLens()).sum() : numSeqs;
    int n = numSeqs;
    if (m.prefill()) {
      encoderStarts = 0;
      decoderStarts = n + 1;
      crossSlots = 2 * (n + 1);
      slots = crossSlots + m.crossSlotMapping().length;
      int total = slots + m.slotMapping().length;
      packed = new int[total];
      maxEncoderLen = prefixSums(m.encoderSeqLens(), packed, encoderStarts);
      maxDecoderLen = prefixSums(m.seqLens(), packed, decoderStarts);
      System.arraycopy(m.crossSlotMapping(), 0, packed, crossSlots, m.crossSlotMapping().length);
      System.arraycopy(m.slotMapping(), 0, packed, slots, m.slotMapping().length);
      seqLens = crossSeqLens = blockTables = crossBlockTables = -1;
      tableStride = crossTableStride = 0;
    } else {
      if (m.slotMapping().length != n
          || m.blockTables().length != n
          || m.crossBlockTables().length != n
          || m.crossSeqLens().length != n) {
        throw new IllegalArgumentException(
            "decode metadata needs one slot, block table, cross block table and cross length per"
                + " sequence: "
                + n
                + " sequences, "
                + m.slotMapping().length
                + " slots, "
                + m.blockTables().length
                + " tables, "
                + m.crossBlockTables().length
                + " cross tables, "
                + m.crossSeqLens().length
                + " cross lengths");
      }
      seqLens = 0;
      slots = n;
      crossSeqLens = 2 * n;
      blockTables = 3 * n;
      tableStride =
          Integer.highestOneBit(Math.max(1, 2 * AttentionMetadata.maxLength(m.blockTables()) - 1));
      crossBlockTables = blockTables + n * tableStride;
      crossTableStride = Math.max(1, AttentionMetadata.maxLength(m.crossBlockTables()));
      packed = new int[crossBlockTables + n * crossTableStride];
      System.arraycopy(m.seqLens(), 0, packed, seqLens, n);
      System.arraycopy(m.slotMapping(), 0, packed, slots, n);
      System.arraycopy(m.crossSeqLens(), 0, packed, crossSeqLens, n);
      for (int i = 0; i < n; i++) {
        System.arraycopy(
            m.blockTables()[i],
            0,
            packed,
            blockTables + i * tableStride,
            m.blockTables()[i].length);
        System.arraycopy(
            m.crossBlockTables()[i],
            0,
            packed,
            crossBlockTables + i * crossTableStride,
            m.crossBlockTables()[i].length);
      }
      encoderStarts = decoderStarts = crossSlots = -1;
      maxEncoderLen = maxDecoderLen = 0;
    }
  }

  /** Decoder query rows of this step: prompt tokens at prefill, one per sequence at decode. */
  int numQueries() {
    return prefillQueries;
  }

  /** Writes the prefix sums of lens at dst[at ..], returns the largest length. */
  private static int prefixSums(int[] lens, int[] dst, int at) {
    int sum = 0;
    int max = 0;
    dst[at] = 0;
    for (int i = 0; i < lens.length; i++) {
      sum += lens[i];
      max = Math.max(max, lens[i]);
      dst[at + i + 1] = sum;
    }
    return max;
  }

  /**
   * Checks that every sequence's self (or cross) block table covers its length. Only the tables an
   * attention call reads must: a decode step's cross attention may come with empty self tables.
   */
  void checkTablesCover(boolean cross) {
    int[][] tables = cross ? source.crossBlockTables() : source.blockTables();
    int[] lens = cross ? source.crossSeqLens() : source.seqLens();
    for (int i = 0; i < numSeqs; i++) {
      checkTable(tables[i], lens[i], source.blockSize(), cross ? "cross" : "self", i);
    }
  }

  private static void checkTable(int[] table, int len, int blockSize, String kind, int seq) {
    if (len < 0 || (long) table.length * blockSize < len) {
      throw new IllegalArgumentException(
          kind
              + " block table of sequence "
              + seq
              + " has "
              + table.length
              + " blocks of "
              + blockSize
              + " for "
              + len
              + " tokens");
    }
  }

  void uploadedTo(long address) {
    this.device = address;
  }

  /** The device address of packed[offset]. */
  long at(int offset) {
    return device + (long) offset * Integer.BYTES;
  }
}
