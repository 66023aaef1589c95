package dev.tandem.backend.opencl;

import dev.tandem.api.backend.AttentionMetadata;
import dev.tandem.api.backend.AttentionSpec;
import dev.tandem.api.backend.AttentionType;
import dev.tandem.api.backend.DataType;
import dev.tandem.api.backend.DeviceTensor;
import dev.tandem.api.backend.PositionBias;

/**
 * One attention call as {@link AttentionType} and {@link AttentionMetadata} describe it: checks the
 * metadata against the tensors and the cache, writes new K/V into the paged cache, finds (or
 * builds) the step's plan of which keys each query sees, and launches one work-item per (query,
 * head), or with {@code groups} one work-group (head dimensions up to twice its size). Prefill
 * reads K/V from their tensors; decode reads the pools through block tables.
 */
final class OpenClAttention {

  private final DeviceOps ops;
  private final AttentionPlans plans;
  private final boolean groups;
  private OpenClKvCache cache;

  OpenClAttention(DeviceOps ops, AttentionPlans plans, boolean groups) {
    this.ops = ops;
    this.plans = plans;
    this.groups = groups;
  }

  void useCache(OpenClKvCache cache) {
    this.cache = cache;
  }

  void run(
      AttentionType type,
      AttentionSpec spec,
      DeviceTensor q,
      DeviceTensor k,
      DeviceTensor v,
      DeviceTensor out,
      AttentionMetadata md) {
    if (spec.numHeads() < 1 || spec.headDim() < 1) {
      throw new IllegalArgumentException("opencl: attention needs numHeads, headDim >= 1: " + spec);
    }
    int stride = spec.numHeads() * spec.headDim();
    PositionBias bias = spec.bias();
    LaunchArgs args = ops.args();
    int plan;
    int queries;
    switch (type) {
      case ENCODER -> {
        requirePrefill(type, md);
        int[] lens = md.encoderSeqLens();
        queries = AttentionMetadata.totalLength("opencl", lens);
        rows(k, "k", queries, stride, args, true);
        rows(v, "v", queries, stride, args, false);
        plan = plans.contiguous(md, "encoder", lens, lens, false, bias);
      }
      case DECODER -> {
        OpenClKvCache kv = requireCache(spec);
        queries = md.numDecoderTokens();
        int kOffset = rows(k, "k", queries, stride, args, true);
        int vOffset = rows(v, "v", queries, stride, args, false);
        writeCache(md, kv, spec.layer(), kOffset, vOffset, md.slotMapping(), queries, stride);
        if (md.prefill()) {
          AttentionMetadata.checkLengthsCover(
              "opencl", md.seqLens(), queries, "seqLens", "slotMapping");
          args.in1 = kOffset;
          args.in2 = vOffset;
          plan = plans.contiguous(md, "decoder", md.seqLens(), md.seqLens(), true, bias);
        } else {
          md.checkDecodeTables("opencl", false, kv.spec().blockSize(), kv.spec().numBlocks());
          args.in1 = kv.layerBase(spec.layer());
          args.in2 = args.in1;
          plan = plans.paged(md, "self", md.seqLens(), md.blockTables(), md.blockSize(), bias);
        }
      }
      case ENCODER_DECODER -> {
        if (bias != null) {
          throw new IllegalArgumentException(
              "opencl: cross-attention takes no relative position bias; pass bias=null");
        }
        OpenClKvCache kv = requireCache(spec);
        if (md.prefill()) {
          queries = AttentionMetadata.totalLength("opencl", md.seqLens());
          int keys = md.numEncoderTokens();
          AttentionMetadata.checkLengthsCover(
              "opencl", md.encoderSeqLens(), keys, "encoderSeqLens", "crossSlotMapping");
          int kOffset = rows(k, "k", keys, stride, args, true);
          int vOffset = rows(v, "v", keys, stride, args, false);
          writeCache(md, kv, spec.layer(), kOffset, vOffset, md.crossSlotMapping(), keys, stride);
          args.in1 = kOffset;
          args.in2 = vOffset;
          plan = plans.contiguous(md, "cross", md.seqLens(), md.encoderSeqLens(), false, null);
        } else {
          if (k != null || v != null) {
            throw new IllegalArgumentException(
                "opencl: cross-attention at decode reads K/V from the cross cache;"
                    + " pass k = v = null");
          }
          queries = md.numSequences();
          md.checkDecodeTables("opencl", true, kv.spec().blockSize(), kv.spec().numBlocks());
          args.in1 = kv.layerBase(spec.layer());
          args.in2 = args.in1;
          plan =
              plans.paged(
                  md, "cross", md.crossSeqLens(), md.crossBlockTables(), md.blockSize(), null);
        }
      }
      default -> throw new AssertionError(type);
    }
    String shape = "(" + queries + ", " + stride + ")";
    args.in0 = ClTensor.of(q, DataType.F32, "q").need((long) queries * stride, "q", shape).offset();
    args.out =
        ClTensor.of(out, DataType.F32, "out").need((long) queries * stride, "out", shape).offset();
    args.cols = bias == null ? -1 : biasTable(bias, spec.numHeads());
    args.rows = spec.numHeads();
    args.inner = spec.headDim();
    args.factor = spec.scale();
    args.mode = plan;
    int pairs = Math.multiplyExact(queries, spec.numHeads());
    if (groups && spec.headDim() <= 2 * DeviceGemm.LOCAL_THREADS) {
      ops.launch(
          DeviceKernel.OP_ATTENTION_GROUPS, Math.multiplyExact(pairs, DeviceGemm.LOCAL_THREADS));
    } else {
      ops.launch(DeviceKernel.OP_ATTENTION, pairs);
    }
  }

  /**
   * Checks a K or V tensor holds {@code count} rows and returns its offset; for ENCODER it also
   * sets the launch's k (in1) or v (in2) base, as the other types set theirs themselves.
   */
  private static int rows(
      DeviceTensor tensor, String role, int count, int stride, LaunchArgs args, boolean isK) {
    int offset =
        ClTensor.of(tensor, DataType.F32, role)
            .need((long) count * stride, role, "(" + count + ", " + stride + ")")
            .offset();
    if (isK) {
      args.in1 = offset;
    } else {
      args.in2 = offset;
    }
    return offset;
  }

  private void writeCache(
      AttentionMetadata md,
      OpenClKvCache kv,
      int layer,
      int kOffset,
      int vOffset,
      int[] slots,
      int tokens,
      int stride) {
    kv.checkSlots(slots, tokens);
    if (tokens == 0) {
      return;
    }
    int slotOffset = plans.slots(md, slots, slots == md.slotMapping() ? "slots" : "crossSlots");
    LaunchArgs args = ops.args();
    args.in0 = kOffset;
    args.in1 = vOffset;
    args.in2 = slotOffset;
    args.out = kv.layerBase(layer);
    args.inner = stride;
    ops.launch(DeviceKernel.OP_CACHE_WRITE, Math.multiplyExact(tokens, stride));
  }

  private static int biasTable(PositionBias bias, int heads) {
    return ClTensor.of(bias.table(), DataType.F32, "bias table")
        .need(
            (long) bias.numBuckets() * heads,
            "bias table",
            "(" + bias.numBuckets() + ", " + heads + ")")
        .offset();
  }

  private static void requirePrefill(AttentionType type, AttentionMetadata md) {
    if (!md.prefill()) {
      throw new IllegalArgumentException("opencl: " + type + " attention runs only at prefill");
    }
  }

  private OpenClKvCache requireCache(AttentionSpec spec) {
    if (cache == null) {
      throw new IllegalStateException("opencl: no KV cache: call allocateKvCache first");
    }
    cache.checkRowShape(spec.numHeads(), spec.headDim());
    cache.layerBase(spec.layer());
    return cache;
  }
}
