package dev.tandem.backend.cpu;

import static dev.tandem.backend.cpu.CpuBackend.need;

import dev.tandem.api.backend.AttentionMetadata;
import dev.tandem.api.backend.AttentionSpec;
import dev.tandem.api.backend.AttentionType;
import dev.tandem.api.backend.DeviceTensor;
import dev.tandem.api.backend.PositionBias;

/**
 * One attention call as {@link AttentionType} and {@link AttentionMetadata} describe it: checks the
 * metadata against the tensors and the cache, writes new K/V into the paged cache, plans which keys
 * each query sees, and runs the kernel.
 */
final class AttentionOp {

  /** Token rows per thread below which splitting a cache write costs more than it saves. */
  private static final int MIN_ROWS_PER_WRITE = 8;

  private final Attention kernel;
  private final WorkerPool pool;
  private final AttentionPlan plan = new AttentionPlan();
  private float[] biasByDistance = new float[0]; // (numHeads, distanceSpan), reused

  AttentionOp(Attention kernel, WorkerPool pool) {
    this.kernel = kernel;
    this.pool = pool;
  }

  void run(
      AttentionType type,
      AttentionSpec spec,
      DeviceTensor q,
      DeviceTensor k,
      DeviceTensor v,
      DeviceTensor out,
      AttentionMetadata md,
      KvCache cache) {
    if (spec.numHeads() < 1 || spec.headDim() < 1) {
      throw new IllegalArgumentException("cpu: attention needs numHeads, headDim >= 1: " + spec);
    }
    int stride = spec.numHeads() * spec.headDim();
    float[] qa = CpuTensor.floats(q, "q");
    float[] oa = CpuTensor.floats(out, "out");
    PositionBias bias = spec.bias();
    switch (type) {
      case ENCODER -> {
        requirePrefill(type, md);
        int[] lens = md.encoderSeqLens();
        int tokens = AttentionMetadata.totalLength("cpu", lens);
        checkRows(qa, oa, tokens, stride, "encoder tokens");
        float[] ka = rows(k, "k", tokens, stride);
        float[] va = rows(v, "v", tokens, stride);
        plan.contiguous(spec.numHeads(), spec.headDim(), spec.scale(), ka, va, lens, lens, false);
      }
      case DECODER -> {
        KvCache kv = requireCache(cache, spec);
        int tokens = md.numDecoderTokens();
        checkRows(qa, oa, tokens, stride, "decoder tokens");
        float[] ka = rows(k, "k", tokens, stride);
        float[] va = rows(v, "v", tokens, stride);
        write(kv, spec.layer(), ka, va, md.slotMapping(), tokens);
        if (md.prefill()) {
          int[] lens = md.seqLens();
          AttentionMetadata.checkLengthsCover("cpu", lens, tokens, "seqLens", "slotMapping");
          plan.contiguous(spec.numHeads(), spec.headDim(), spec.scale(), ka, va, lens, lens, true);
        } else {
          md.checkDecodeTables("cpu", false, kv.spec().blockSize(), kv.spec().numBlocks());
          plan.paged(
              spec.numHeads(),
              spec.headDim(),
              spec.scale(),
              kv.keys(spec.layer()),
              kv.values(spec.layer()),
              md.seqLens(),
              md.blockTables(),
              md.blockSize());
        }
      }
      case ENCODER_DECODER -> {
        if (bias != null) {
          throw new IllegalArgumentException(
              "cpu: cross-attention takes no relative position bias; pass bias=null");
        }
        KvCache kv = requireCache(cache, spec);
        if (md.prefill()) {
          int queries = AttentionMetadata.totalLength("cpu", md.seqLens());
          checkRows(qa, oa, queries, stride, "decoder tokens");
          int[] encoderLens = md.encoderSeqLens();
          int keys = md.numEncoderTokens();
          AttentionMetadata.checkLengthsCover(
              "cpu", encoderLens, keys, "encoderSeqLens", "crossSlotMapping");
          float[] ka = rows(k, "k", keys, stride);
          float[] va = rows(v, "v", keys, stride);
          write(kv, spec.layer(), ka, va, md.crossSlotMapping(), keys);
          plan.contiguous(
              spec.numHeads(),
              spec.headDim(),
              spec.scale(),
              ka,
              va,
              md.seqLens(),
              encoderLens,
              false);
        } else {
          if (k != null || v != null) {
            throw new IllegalArgumentException(
                "cpu: cross-attention at decode reads K/V from the cross cache; pass k = v = null");
          }
          checkRows(qa, oa, md.numSequences(), stride, "decoder sequences");
          md.checkDecodeTables("cpu", true, kv.spec().blockSize(), kv.spec().numBlocks());
          plan.paged(
              spec.numHeads(),
              spec.headDim(),
              spec.scale(),
              kv.keys(spec.layer()),
              kv.values(spec.layer()),
              md.crossSeqLens(),
              md.crossBlockTables(),
              md.blockSize());
        }
      }
    }
    kernel.run(plan, qa, oa, bias == null ? null : biasByDistance(bias));
  }

  /**
   * K/V rows [0, count) into their slots, split over the threads: on the calling thread alone this
   * was 1 % of a t5-small B = 32 decode step on 2 threads, with the other threads waiting.
   */
  private void write(KvCache kv, int layer, float[] k, float[] v, int[] slots, int count) {
    pool.forRange(
        count,
        MIN_ROWS_PER_WRITE,
        (worker, start, end) -> kv.write(layer, k, v, slots, start, end));
  }

  private static void requirePrefill(AttentionType type, AttentionMetadata md) {
    if (!md.prefill()) {
      throw new IllegalArgumentException("cpu: " + type + " attention runs only at prefill");
    }
  }

  private static KvCache requireCache(KvCache cache, AttentionSpec spec) {
    if (cache == null) {
      throw new IllegalStateException("cpu: no KV cache: call allocateKvCache first");
    }
    cache.checkRowShape(spec.numHeads(), spec.headDim());
    return cache;
  }

  private static void checkRows(float[] q, float[] out, int rows, int stride, String what) {
    long needed = (long) rows * stride;
    if (needed > Math.min(q.length, out.length)) {
      String shape = "(" + rows + " " + what + ", " + stride + ")";
      need(q, needed, "q", shape);
      need(out, needed, "out", shape);
    }
  }

  private static float[] rows(DeviceTensor tensor, String role, int rows, int stride) {
    float[] data = CpuTensor.floats(tensor, role);
    need(data, rows, stride, role);
    return data;
  }

  /**
   * T5's bias for every relative position the plan can meet, (numHeads, 2 · maxKeys − 1): the
   * bucket (a logarithm) is computed once per distance, not once per query-key pair.
   */
  private float[] biasByDistance(PositionBias bias) {
    int heads = plan.numHeads();
    int span = plan.distanceSpan();
    int maxKeys = plan.maxKeys();
    float[] table = CpuTensor.floats(bias.table(), "bias table");
    need(table, bias.numBuckets(), heads, "bias table");
    if (biasByDistance.length < heads * span) {
      biasByDistance = new float[heads * span];
    }
    for (int d = 0; d < span; d++) {
      int relative = d - (maxKeys - 1);
      int bucket =
          PositionBias.bucket(
              relative, bias.bidirectional(), bias.numBuckets(), bias.maxDistance());
      for (int h = 0; h < heads; h++) {
        biasByDistance[h * span + d] = table[bucket * heads + h];
      }
    }
    return biasByDistance;
  }
}
