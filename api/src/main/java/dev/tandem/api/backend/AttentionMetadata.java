package dev.tandem.api.backend;

import java.util.Arrays;

/**
 * Everything attention needs to know about one step's batch, built by the model runner from the
 * block manager's tables. A step is either all prefill or all decode. Tokens are packed without
 * padding, sequence after sequence.
 *
 * <p>Prefill: each decoder sequence {@code i} belongs to encoder sequence {@code i} (one decoder
 * sequence per group at prefill).
 *
 * <ul>
 *   <li>{@code encoderSeqLens[i]}: encoder tokens of group i (packed in this order);
 *   <li>{@code crossSlotMapping[t]}: cross-cache slot of encoder token t, slot = crossTable[t /
 *       blockSize] * blockSize + t % blockSize;
 *   <li>{@code seqLens[i]}: decoder prompt tokens of sequence i;
 *   <li>{@code slotMapping[t]}: self-cache slot of decoder token t.
 * </ul>
 *
 * <p>Decode: one new token per decoder sequence.
 *
 * <ul>
 *   <li>{@code seqLens[i]}: context length of sequence i, including the new token;
 *   <li>{@code slotMapping[i]}: self-cache slot of the new token;
 *   <li>{@code blockTables[i]}: the sequence's self block table;
 *   <li>{@code crossBlockTables[i]}, {@code crossSeqLens[i]}: its group's cross table and encoder
 *       length (replicated per sequence, so beams of one group read the same cross blocks).
 * </ul>
 *
 * Arrays not used in a phase are empty. Instances are immutable by convention: backends may cache
 * device copies of the arrays per instance.
 */
public record AttentionMetadata(
    boolean prefill,
    int blockSize,
    int[] encoderSeqLens,
    int[] crossSlotMapping,
    int[] seqLens,
    int[] slotMapping,
    int[][] blockTables,
    int[][] crossBlockTables,
    int[] crossSeqLens) {

  private static final int[] NONE = new int[0];
  private static final int[][] NO_TABLES = new int[0][];

  public static AttentionMetadata prefill(
      int blockSize,
      int[] encoderSeqLens,
      int[] crossSlotMapping,
      int[] seqLens,
      int[] slotMapping) {
    if (encoderSeqLens.length != seqLens.length) {
      throw new IllegalArgumentException(
          "prefill needs one decoder sequence per encoder sequence: "
              + encoderSeqLens.length
              + " encoder, "
              + seqLens.length
              + " decoder");
    }
    return new AttentionMetadata(
        true,
        blockSize,
        encoderSeqLens,
        crossSlotMapping,
        seqLens,
        slotMapping,
        NO_TABLES,
        NO_TABLES,
        encoderSeqLens);
  }

  public static AttentionMetadata decode(
      int blockSize,
      int[] seqLens,
      int[] slotMapping,
      int[][] blockTables,
      int[][] crossBlockTables,
      int[] crossSeqLens) {
    return new AttentionMetadata(
        false,
        blockSize,
        NONE,
        NONE,
        seqLens,
        slotMapping,
        blockTables,
        crossBlockTables,
        crossSeqLens);
  }

  public int numSequences() {
    return seqLens.length;
  }

  /** Decoder tokens in this step's batch. */
  public int numDecoderTokens() {
    return slotMapping.length;
  }

  /** Encoder tokens in this step's batch (0 at decode). */
  public int numEncoderTokens() {
    return crossSlotMapping.length;
  }

  /**
   * The total of a batch's sequence lengths, checked: none negative. Messages start with {@code
   * backend}.
   */
  public static int totalLength(String backend, int[] lens) {
    long total = 0;
    for (int len : lens) {
      if (len < 0) {
        throw new IllegalArgumentException(
            backend + ": negative sequence length in " + Arrays.toString(lens));
      }
      total += len;
    }
    return Math.toIntExact(total);
  }

  /**
   * Checks that the lengths {@code lensName} cover exactly the {@code tokens} slots of {@code
   * slotsName} (one slot per token). Messages start with {@code backend}.
   */
  public static void checkLengthsCover(
      String backend, int[] lens, int tokens, String lensName, String slotsName) {
    int total = totalLength(backend, lens);
    if (total != tokens) {
      throw new IllegalArgumentException(
          backend
              + ": "
              + lensName
              + " sum to "
              + total
              + " tokens but "
              + slotsName
              + " has "
              + tokens);
    }
  }

  /**
   * Checks a decode step's self ({@code cross} false) or cross block tables against their lengths
   * and against a KV cache of {@code cacheBlocks} blocks of {@code cacheBlockSize} tokens, so that
   * a backend never reads outside its pools. Messages start with {@code backend}.
   *
   * @throws IllegalArgumentException naming the sequence, its length and table, or the bad block
   */
  public void checkDecodeTables(
      String backend, boolean cross, int cacheBlockSize, int cacheBlocks) {
    String which = cross ? "cross" : "self";
    int[] lens = cross ? crossSeqLens : seqLens;
    int[][] tables = cross ? crossBlockTables : blockTables;
    if (blockSize != cacheBlockSize) {
      throw new IllegalArgumentException(
          backend
              + ": metadata block size "
              + blockSize
              + " != KV cache block size "
              + cacheBlockSize);
    }
    if (lens.length != numSequences() || tables.length != numSequences()) {
      throw new IllegalArgumentException(
          backend
              + ": decode with "
              + numSequences()
              + " sequences got "
              + lens.length
              + " "
              + which
              + " lengths and "
              + tables.length
              + " "
              + which
              + " block tables");
    }
    for (int s = 0; s < lens.length; s++) {
      int blocks = (lens[s] + blockSize - 1) / blockSize;
      if (lens[s] < 0 || tables[s].length < blocks) {
        throw new IllegalArgumentException(
            backend
                + ": sequence "
                + s
                + " has "
                + lens[s]
                + " "
                + which
                + " tokens but a block table of "
                + tables[s].length
                + " blocks of "
                + blockSize);
      }
      for (int b = 0; b < blocks; b++) {
        // The message is built only on failure: this loop runs every decode step.
        int block = tables[s][b];
        if (block < 0 || block >= cacheBlocks) {
          throw new IllegalArgumentException(
              backend
                  + ": "
                  + which
                  + " table of sequence "
                  + s
                  + ": block "
                  + block
                  + " outside the KV cache's 0.."
                  + (cacheBlocks - 1));
        }
      }
    }
  }

  /** Longest entry of the table list, for kernels that size shared memory by it. */
  public static int maxLength(int[][] tables) {
    return Arrays.stream(tables).mapToInt(t -> t.length).max().orElse(0);
  }
}
