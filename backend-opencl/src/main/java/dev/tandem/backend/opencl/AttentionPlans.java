package dev.tandem.backend.opencl;

import static dev.tandem.backend.opencl.DeviceKernel.PLAN_BLOCK_SIZE;
import static dev.tandem.backend.opencl.DeviceKernel.PLAN_BUCKETS;
import static dev.tandem.backend.opencl.DeviceKernel.PLAN_CAUSAL;
import static dev.tandem.backend.opencl.DeviceKernel.PLAN_HEADER;
import static dev.tandem.backend.opencl.DeviceKernel.PLAN_KEY_COUNT;
import static dev.tandem.backend.opencl.DeviceKernel.PLAN_KEY_START;
import static dev.tandem.backend.opencl.DeviceKernel.PLAN_MAX_KEYS;
import static dev.tandem.backend.opencl.DeviceKernel.PLAN_PAGED;
import static dev.tandem.backend.opencl.DeviceKernel.PLAN_QUERIES;
import static dev.tandem.backend.opencl.DeviceKernel.PLAN_QUERY_POSITION;
import static dev.tandem.backend.opencl.DeviceKernel.PLAN_QUERY_SEQUENCE;

import dev.tandem.api.backend.AttentionMetadata;
import dev.tandem.api.backend.PositionBias;
import java.util.HashMap;
import java.util.Map;

/**
 * The device copy of one step's {@link AttentionMetadata}: slot mappings and attention plans (which
 * keys each query sees, and T5 bucket per relative distance) packed into the kernel's meta array. A
 * step calls attention once per layer with the same metadata instance, so each plan is built and
 * uploaded once per step and found again by its key; a new metadata instance starts over.
 */
final class AttentionPlans {

  /** What distinguishes the plans of one step. */
  private record Key(String what, boolean bidirectional, int numBuckets, int maxDistance) {}

  private final DeviceOps ops;
  private final Map<Key, Integer> offsets = new HashMap<>();
  private AttentionMetadata current;
  private int used;

  AttentionPlans(DeviceOps ops) {
    this.ops = ops;
  }

  private void useStep(AttentionMetadata md) {
    if (md != current) {
      current = md;
      offsets.clear();
      used = 0;
    }
  }

  /** Offset in meta of {@code slots} (a slot mapping of md), uploaded once per step. */
  int slots(AttentionMetadata md, int[] slots, String which) {
    useStep(md);
    Key key = new Key(which, false, 0, 0);
    Integer known = offsets.get(key);
    if (known != null) {
      return known;
    }
    int offset = append(slots.length);
    System.arraycopy(slots, 0, ops.kernel().meta, offset, slots.length);
    return publish(key, offset);
  }

  /**
   * A plan over contiguous key rows: sequence i has queryLens[i] queries and keyLens[i] keys, both
   * packed in order; causal queries see keys up to their own position.
   */
  int contiguous(
      AttentionMetadata md,
      String which,
      int[] queryLens,
      int[] keyLens,
      boolean causal,
      PositionBias bias) {
    useStep(md);
    Key key = key(which, bias);
    Integer known = offsets.get(key);
    if (known != null) {
      return known;
    }
    int sequences = queryLens.length;
    int queries = 0;
    int maxKeys = 0;
    for (int s = 0; s < sequences; s++) {
      queries += queryLens[s];
      maxKeys = Math.max(maxKeys, Math.max(queryLens[s], keyLens[s]));
    }
    int span = spanOf(maxKeys, bias);
    int plan = append(PLAN_HEADER + 2 * queries + 2 * sequences + span);
    int[] meta = ops.kernel().meta;
    header(meta, plan, queries, false, causal, 1, sequences, maxKeys, span);
    int query = 0;
    int keyRow = 0;
    for (int s = 0; s < sequences; s++) {
      meta[meta[plan + PLAN_KEY_START] + s] = keyRow;
      meta[meta[plan + PLAN_KEY_COUNT] + s] = keyLens[s];
      keyRow += keyLens[s];
      for (int p = 0; p < queryLens[s]; p++, query++) {
        meta[meta[plan + PLAN_QUERY_SEQUENCE] + query] = s;
        meta[meta[plan + PLAN_QUERY_POSITION] + query] = p;
      }
    }
    buckets(meta, plan, maxKeys, span, bias);
    return publish(key, plan);
  }

  /** One query per sequence at position lens[i] − 1, over the blocks of tables[i]. */
  int paged(
      AttentionMetadata md,
      String which,
      int[] lens,
      int[][] tables,
      int blockSize,
      PositionBias bias) {
    useStep(md);
    Key key = key(which, bias);
    Integer known = offsets.get(key);
    if (known != null) {
      return known;
    }
    int sequences = lens.length;
    int maxKeys = 0;
    int tableInts = 0;
    for (int s = 0; s < sequences; s++) {
      maxKeys = Math.max(maxKeys, lens[s]);
      tableInts += (lens[s] + blockSize - 1) / blockSize;
    }
    int span = spanOf(maxKeys, bias);
    int plan = append(PLAN_HEADER + 4 * sequences + span + tableInts);
    int[] meta = ops.kernel().meta;
    header(meta, plan, sequences, true, false, blockSize, sequences, maxKeys, span);
    int table = plan + PLAN_HEADER + 4 * sequences + span;
    for (int s = 0; s < sequences; s++) {
      meta[meta[plan + PLAN_QUERY_SEQUENCE] + s] = s;
      meta[meta[plan + PLAN_QUERY_POSITION] + s] = Math.max(0, lens[s] - 1);
      meta[meta[plan + PLAN_KEY_COUNT] + s] = lens[s];
      meta[meta[plan + PLAN_KEY_START] + s] = table;
      int blocks = (lens[s] + blockSize - 1) / blockSize;
      System.arraycopy(tables[s], 0, meta, table, blocks);
      table += blocks;
    }
    buckets(meta, plan, maxKeys, span, bias);
    return publish(key, plan);
  }

  private static Key key(String which, PositionBias bias) {
    return bias == null
        ? new Key(which, false, -1, -1)
        : new Key(which, bias.bidirectional(), bias.numBuckets(), bias.maxDistance());
  }

  /** Distinct relative positions kPos − qPos: 2 · maxKeys − 1 (none without a bias). */
  private static int spanOf(int maxKeys, PositionBias bias) {
    return bias == null ? 0 : Math.max(1, 2 * maxKeys - 1);
  }

  /** Lays out the header and the per-query / per-sequence arrays right after it. */
  private static void header(
      int[] meta,
      int plan,
      int queries,
      boolean paged,
      boolean causal,
      int blockSize,
      int sequences,
      int maxKeys,
      int span) {
    int at = plan + PLAN_HEADER;
    meta[plan + PLAN_QUERIES] = queries;
    meta[plan + PLAN_PAGED] = paged ? 1 : 0;
    meta[plan + PLAN_CAUSAL] = causal ? 1 : 0;
    meta[plan + PLAN_BLOCK_SIZE] = blockSize;
    meta[plan + PLAN_MAX_KEYS] = maxKeys;
    meta[plan + PLAN_QUERY_SEQUENCE] = at;
    meta[plan + PLAN_QUERY_POSITION] = at + queries;
    meta[plan + PLAN_KEY_START] = at + 2 * queries;
    meta[plan + PLAN_KEY_COUNT] = at + 2 * queries + sequences;
    meta[plan + PLAN_BUCKETS] = span == 0 ? -1 : at + 2 * queries + 2 * sequences;
  }

  /**
   * T5 bucket of every relative position the plan can meet, indexed by kPos − qPos + maxKeys − 1:
   * computed here with {@link PositionBias#bucket}, the reference, so no device logarithm can move
   * a boundary; the kernel only looks the bias up.
   */
  private static void buckets(int[] meta, int plan, int maxKeys, int span, PositionBias bias) {
    int at = meta[plan + PLAN_BUCKETS];
    for (int d = 0; d < span; d++) {
      meta[at + d] =
          PositionBias.bucket(
              d - (maxKeys - 1), bias.bidirectional(), bias.numBuckets(), bias.maxDistance());
    }
  }

  private int append(int size) {
    int offset = used;
    ops.meta(used + size, used);
    used += size;
    return offset;
  }

  private int publish(Key key, int offset) {
    offsets.put(key, offset);
    ops.putMeta();
    return offset;
  }
}
