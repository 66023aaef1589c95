package dev.tandem.backend.cuda;

import dev.tandem.api.backend.AttentionSpec;
import dev.tandem.api.backend.AttentionType;
import dev.tandem.api.backend.PositionBias;
import jcuda.driver.CUfunction;

/**
 * Runs one attention call: the cache writes its type implies, then the prefill (packed sequences)
 * or paged decode kernel with the step's device metadata.
 *
 * <ul>
 *   <li>ENCODER: bidirectional over each encoder sequence; no cache.
 *   <li>DECODER prefill: K/V written to the self slots, then causal attention over the prompt's own
 *       K/V (they are exactly what the cache now holds for these sequences).
 *   <li>DECODER decode: paged attention over the sequence's self block table; the kernel first
 *       writes the new token's K/V into its slot.
 *   <li>ENCODER_DECODER prefill: the encoder K/V written to the cross slots, then each decoder
 *       sequence attends over its group's encoder tokens. Decode: paged attention over the cross
 *       block tables.
 * </ul>
 */
final class CudaAttention {

  private static final int THREADS = 128;
  private static final int PREFILL_QUERIES = 16;
  private static final int KEY_TILE = 32;

  private final CudaKernels kernels;
  private final KernelStream stream;
  private final boolean halfWarpDecode;

  CudaAttention(CudaKernels kernels, KernelStream stream, boolean halfWarpDecode) {
    this.kernels = kernels;
    this.stream = stream;
    this.halfWarpDecode = halfWarpDecode;
  }

  void run(
      AttentionType type,
      AttentionSpec spec,
      DeviceMetadata md,
      CudaKvCache cache,
      CudaTensor q,
      CudaTensor k,
      CudaTensor v,
      CudaTensor out) {
    if (out == q || out == k || out == v) {
      throw new IllegalArgumentException("attention: out must not alias q, k or v");
    }
    boolean prefill = md.source.prefill();
    int rowElems = spec.numHeads() * spec.headDim();
    // A kernel reading past a tensor would fault the whole context: check the rows here.
    int queries = type == AttentionType.ENCODER ? md.source.numEncoderTokens() : md.numQueries();
    int keys =
        switch (type) {
          case ENCODER -> md.source.numEncoderTokens();
          case DECODER -> queries;
          case ENCODER_DECODER -> prefill ? md.source.numEncoderTokens() : 0;
        };
    requireRows(q, queries, rowElems, "q");
    requireRows(out, queries, rowElems, "out");
    if (keys > 0) {
      requireRows(k, keys, rowElems, "k");
      requireRows(v, keys, rowElems, "v");
    }
    switch (type) {
      case ENCODER -> {
        if (!prefill) {
          throw new IllegalArgumentException("ENCODER attention runs only in a prefill step");
        }
        requireKv(type, k, v);
        prefill(
            spec, q, k, v, out, md.encoderStarts, md.encoderStarts, md, md.maxEncoderLen, false);
      }
      case DECODER -> {
        requireKv(type, k, v);
        CudaKvCache c = requireCache(cache, spec);
        if (prefill) {
          writeKv(c, spec.layer(), k, v, md.at(md.slots), md.source.numDecoderTokens(), rowElems);
          prefill(
              spec, q, k, v, out, md.decoderStarts, md.decoderStarts, md, md.maxDecoderLen, true);
        } else {
          md.checkTablesCover(false);
          // the decode kernel writes the new token's K/V into its slot itself
          decode(spec, c, q, k, v, out, md, md.blockTables, md.tableStride, md.seqLens);
        }
      }
      case ENCODER_DECODER -> {
        CudaKvCache c = requireCache(cache, spec);
        if (prefill) {
          requireKv(type, k, v);
          writeKv(
              c, spec.layer(), k, v, md.at(md.crossSlots), md.source.numEncoderTokens(), rowElems);
          prefill(
              spec, q, k, v, out, md.decoderStarts, md.encoderStarts, md, md.maxDecoderLen, false);
        } else {
          md.checkTablesCover(true);
          decode(
              spec,
              c,
              q,
              null,
              null,
              out,
              md,
              md.crossBlockTables,
              md.crossTableStride,
              md.crossSeqLens);
        }
      }
    }
  }

  private static void requireRows(CudaTensor t, int rows, int rowElems, String name) {
    if (t != null && t.length() < (long) rows * rowElems) {
      throw new IllegalArgumentException(
          name + " holds " + t.length() + " values, fewer than (" + rows + ", " + rowElems + ")");
    }
  }

  private static void requireKv(AttentionType type, CudaTensor k, CudaTensor v) {
    if (k == null || v == null) {
      throw new IllegalArgumentException(type + " attention in this step needs k and v");
    }
  }

  private static CudaKvCache requireCache(CudaKvCache cache, AttentionSpec spec) {
    if (cache == null) {
      throw new IllegalStateException("no KV cache: call allocateKvCache first");
    }
    if (cache.spec.numHeads() != spec.numHeads() || cache.spec.headDim() != spec.headDim()) {
      throw new IllegalArgumentException(
          "attention of "
              + spec.numHeads()
              + " heads x "
              + spec.headDim()
              + " does not match the KV cache's "
              + cache.spec.numHeads()
              + " x "
              + cache.spec.headDim());
    }
    return cache;
  }

  private void writeKv(
      CudaKvCache cache,
      int layer,
      CudaTensor k,
      CudaTensor v,
      long slots,
      int tokens,
      int rowElems) {
    if (tokens == 0) {
      return;
    }
    stream.launch(
        kernels.writeKv,
        tokens,
        1,
        1,
        Math.min(256, (rowElems + 31) / 32 * 32),
        0,
        kernels
            .args()
            .ptr(k)
            .ptr(v)
            .ptr(cache.pool(layer, false))
            .ptr(cache.pool(layer, true))
            .ptr(slots)
            .i32(rowElems));
  }

  private void prefill(
      AttentionSpec spec,
      CudaTensor q,
      CudaTensor k,
      CudaTensor v,
      CudaTensor out,
      int queryStarts,
      int keyStarts,
      DeviceMetadata md,
      int maxQueries,
      boolean causal) {
    if (maxQueries == 0 || md.numSeqs == 0) {
      return;
    }
    int hd = spec.headDim();
    int sharedBytes = (PREFILL_QUERIES * hd + KEY_TILE * (hd + 1) + KEY_TILE * hd) * Float.BYTES;
    KernelArgs args =
        kernels
            .args()
            .ptr(q)
            .ptr(k)
            .ptr(v)
            .ptr(out)
            .ptr(md.at(queryStarts))
            .ptr(md.at(keyStarts))
            .i32(spec.numHeads())
            .i32(hd)
            .f32(spec.scale())
            .i32(causal ? 1 : 0);
    bias(args, spec.bias());
    stream.launch(
        kernels.prefillAttention,
        (maxQueries + PREFILL_QUERIES - 1) / PREFILL_QUERIES,
        spec.numHeads(),
        md.numSeqs,
        THREADS,
        sharedBytes,
        args);
  }

  private void decode(
      AttentionSpec spec,
      CudaKvCache cache,
      CudaTensor q,
      CudaTensor newK,
      CudaTensor newV,
      CudaTensor out,
      DeviceMetadata md,
      int tables,
      int tableStride,
      int kvLens) {
    if (md.numSeqs == 0) {
      return;
    }
    KernelArgs args =
        kernels
            .args()
            .ptr(q)
            .ptr(out)
            .ptr(cache.pool(spec.layer(), false))
            .ptr(cache.pool(spec.layer(), true))
            .ptr(md.at(tables))
            .i32(tableStride)
            .ptr(md.at(kvLens))
            .ptr(md.at(md.seqLens))
            .i32(cache.spec.blockSize())
            .i32(spec.numHeads())
            .i32(spec.headDim())
            .f32(spec.scale());
    bias(args, spec.bias());
    args.ptr(newK).ptr(newV).ptr(newK != null ? md.at(md.slots) : 0L);
    CUfunction kernel = decodeKernel(spec.headDim(), q, out, newK, newV, cache, spec.layer());
    stream.launch(kernel, md.numSeqs, spec.numHeads(), 1, THREADS, 0, args);
  }

  /**
   * A half-warp per key for head dims of 64 and 128 when its float4 reads are aligned (option
   * cuda.decode-attention=half-warps, the default), else a lane per key.
   */
  private CUfunction decodeKernel(
      int headDim,
      CudaTensor q,
      CudaTensor out,
      CudaTensor newK,
      CudaTensor newV,
      CudaKvCache cache,
      int layer) {
    long addresses =
        q.address()
            | out.address()
            | cache.pool(layer, false)
            | cache.pool(layer, true)
            | (newK == null ? 0 : newK.address() | newV.address());
    return switch (halfWarpHeadDim(halfWarpDecode, headDim, addresses)) {
      case 64 -> kernels.pagedDecodeAttention64;
      case 128 -> kernels.pagedDecodeAttention128;
      default -> kernels.pagedDecodeAttention;
    };
  }

  /**
   * The head dim of the half-warp decode kernel to use (64 or 128), or 0 for the lane-per-key
   * kernel: when the option is off, the head dim is another, or one of the OR-ed {@code addresses}
   * is not 16-byte aligned (the kernel reads float4s).
   */
  static int halfWarpHeadDim(boolean enabled, int headDim, long addresses) {
    boolean fits = enabled && (headDim == 64 || headDim == 128) && (addresses & 15) == 0;
    return fits ? headDim : 0;
  }

  private static void bias(KernelArgs args, PositionBias bias) {
    if (bias == null) {
      args.ptr(0L).i32(0).i32(0).i32(0);
    } else {
      args.ptr((CudaTensor) bias.table())
          .i32(bias.numBuckets())
          .i32(bias.maxDistance())
          .i32(bias.bidirectional() ? 1 : 0);
    }
  }
}
