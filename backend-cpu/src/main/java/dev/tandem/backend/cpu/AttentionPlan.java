package dev.tandem.backend.cpu;

import java.util.Arrays;

/**
 * Which keys each query of one attention call sees, reused from call to call (its arrays only
 * grow). Two layouts: contiguous, where sequence i's keys are consecutive rows of the k/v tensors
 * (every prefill), and paged, where they sit in cache blocks named by a block table (decode).
 */
final class AttentionPlan {

  private int numHeads;
  private int headDim;
  private float scale;
  private float[] keys;
  private float[] values;
  private boolean causal;
  private int[][] tables; // paged layout only, else null
  private int blockSize;
  private int numQueries;
  private int maxKeys;
  private int[] querySequence = new int[0]; // (query) -> its sequence
  private int[] queryPosition = new int[0]; // (query) -> 0-based position within the sequence
  private int[] keyStart = new int[0]; // (sequence) -> first key row (contiguous layout)
  private int[] keyCount = new int[0]; // (sequence) -> keys it has
  private int[] queryStart = new int[0]; // (sequence) -> its first query
  private int sequences;

  private void shape(int numHeads, int headDim, float scale, float[] keys, float[] values) {
    this.numHeads = numHeads;
    this.headDim = headDim;
    this.scale = scale;
    this.keys = keys;
    this.values = values;
  }

  /**
   * Sequence i has {@code queryLens[i]} queries and {@code keyLens[i]} keys, both packed in order;
   * causal queries see keys up to their own position.
   */
  void contiguous(
      int numHeads,
      int headDim,
      float scale,
      float[] k,
      float[] v,
      int[] queryLens,
      int[] keyLens,
      boolean causal) {
    shape(numHeads, headDim, scale, k, v);
    this.causal = causal;
    this.tables = null;
    sequences = queryLens.length;
    numQueries = Arrays.stream(queryLens).sum();
    growQueries(numQueries);
    growSequences(sequences);
    int query = 0;
    int key = 0;
    maxKeys = 0;
    for (int s = 0; s < sequences; s++) {
      keyStart[s] = key;
      keyCount[s] = keyLens[s];
      queryStart[s] = query;
      key += keyLens[s];
      maxKeys = Math.max(maxKeys, Math.max(keyLens[s], queryLens[s]));
      for (int p = 0; p < queryLens[s]; p++, query++) {
        querySequence[query] = s;
        queryPosition[query] = p;
      }
    }
  }

  /** One query per sequence, at position seqLens[i] − 1, over the blocks of tables[i]. */
  void paged(
      int numHeads,
      int headDim,
      float scale,
      float[] kPool,
      float[] vPool,
      int[] seqLens,
      int[][] tables,
      int blockSize) {
    shape(numHeads, headDim, scale, kPool, vPool);
    this.causal = false; // every cached key precedes (or is) the query
    this.tables = tables;
    this.blockSize = blockSize;
    numQueries = seqLens.length;
    sequences = numQueries;
    growQueries(numQueries);
    growSequences(numQueries);
    maxKeys = 0;
    for (int s = 0; s < numQueries; s++) {
      querySequence[s] = s;
      queryStart[s] = s;
      queryPosition[s] = Math.max(0, seqLens[s] - 1);
      keyCount[s] = seqLens[s];
      maxKeys = Math.max(maxKeys, seqLens[s]);
    }
  }

  private void growQueries(int n) {
    if (querySequence.length < n) {
      querySequence = new int[n];
      queryPosition = new int[n];
    }
  }

  private void growSequences(int n) {
    if (keyStart.length < n) {
      keyStart = new int[n];
      keyCount = new int[n];
      queryStart = new int[n];
    }
  }

  /** Fills offsets[j] with the element offset of key j's row for this query; returns the count. */
  int keyOffsets(int query, int[] offsets) {
    int sequence = querySequence[query];
    int count = keysSeen(query);
    int stride = rowStride();
    if (tables == null) {
      int base = keyStart[sequence] * stride;
      for (int j = 0; j < count; j++) {
        offsets[j] = base + j * stride;
      }
    } else {
      // Block by block, so no division per key.
      int[] table = tables[sequence];
      for (int b = 0, j = 0; j < count; b++) {
        int slot = table[b] * blockSize;
        for (int t = 0; t < blockSize && j < count; t++, j++) {
          offsets[j] = (slot + t) * stride;
        }
      }
    }
    return count;
  }

  int numHeads() {
    return numHeads;
  }

  /** Whether the keys sit in cache blocks (decode) rather than in contiguous rows (prefill). */
  boolean paged() {
    return tables != null;
  }

  int headDim() {
    return headDim;
  }

  int rowStride() {
    return numHeads * headDim;
  }

  float scale() {
    return scale;
  }

  float[] keys() {
    return keys;
  }

  float[] values() {
    return values;
  }

  int numQueries() {
    return numQueries;
  }

  /** The longest key range (or query range) of any sequence. */
  int maxKeys() {
    return maxKeys;
  }

  /** Distinct relative positions kPos − qPos: 2 · maxKeys − 1. */
  int distanceSpan() {
    return Math.max(1, 2 * maxKeys - 1);
  }

  int queryPosition(int query) {
    return queryPosition[query];
  }

  int numSequences() {
    return sequences;
  }

  /** Sequence s's first query; its queries are consecutive. */
  int queryStart(int s) {
    return queryStart[s];
  }

  int queryCount(int s) {
    return (s + 1 < sequences ? queryStart[s + 1] : numQueries) - queryStart[s];
  }

  /** Sequence s's first key row (contiguous layout). */
  int keyStart(int s) {
    return keyStart[s];
  }

  /** Keys of sequence s; a causal query at position p sees the first p + 1 of them. */
  int keyCount(int s) {
    return keyCount[s];
  }

  /** Keys the query sees: all of its sequence's, or up to its own position when causal. */
  int keysSeen(int query) {
    return causal ? queryPosition[query] + 1 : keyCount[querySequence[query]];
  }
}
