package dev.tandem.backend.cuda;

import dev.tandem.api.backend.Activation;
import jcuda.driver.CUfunction;

/**
 * Launches the dense kernels (everything but attention and the KV cache) on the backend's stream,
 * choosing each one's grid. Its callers have checked the tensors' types and lengths and made the
 * context current; an empty problem launches nothing.
 */
final class DenseOps implements AutoCloseable {

  static final int ELEMENTWISE_THREADS = 256;
  private static final int GEMV_MAX_ROWS = 8;
  private static final int GEMV_WARPS = 8;

  /** Fewest K values per split-K chunk: 8 of the plain tile loop's BK = 8 steps. */
  private static final int SPLIT_MIN_K = 64;

  /** Split-K chunks start at multiples of 8 (of 4 at least, for the tiles' vector loads). */
  private static final int SPLIT_K_ALIGN = 8;

  private final CudaKernels kernels;
  private final KernelStream stream;
  private final int multiprocessors;
  private final boolean tf32;
  private final CudaKernels.Tiles tiles;
  private final DeviceBuffer splitWorkspace = new DeviceBuffer(); // split-K partial tiles

  DenseOps(
      CudaKernels kernels,
      KernelStream stream,
      int multiprocessors,
      boolean tf32,
      CudaKernels.Tiles tiles) {
    this.kernels = kernels;
    this.stream = stream;
    this.multiprocessors = multiprocessors;
    this.tf32 = tf32;
    this.tiles = tiles;
  }

  /** out(n, dim) = table[ids[i]] * scale. */
  void embedding(CudaTensor ids, int n, CudaTensor table, int dim, float scale, CudaTensor out) {
    if (n > 0) {
      launchRows(
          kernels.embedding,
          n,
          Math.min(256, rowThreads(dim)),
          kernels.args().ptr(ids).ptr(table).i32(dim).f32(scale).ptr(out));
    }
  }

  /** y(n, outDim) = x(n, inDim) · w(outDim, inDim)ᵀ (+ bias). */
  void linear(
      CudaTensor x, int n, int inDim, CudaTensor w, CudaTensor b, int outDim, CudaTensor y) {
    if (n == 0 || outDim == 0) {
      return;
    }
    KernelArgs args = kernels.args().ptr(x).ptr(w).ptr(b).ptr(y).i32(n).i32(outDim).i32(inDim);
    if (tf32 && n > GEMV_MAX_ROWS) {
      stream.launch(kernels.gemmTf32, ceilDiv(outDim, 64), ceilDiv(n, 64), 1, 128, 0, args);
    } else if (n <= GEMV_MAX_ROWS) {
      stream.launch(kernels.gemv, ceilDiv(outDim, GEMV_WARPS), 1, 1, GEMV_WARPS * 32, 0, args);
    } else {
      // The largest tile that still fills every multiprocessor once; small batches get smaller
      // tiles (more blocks) because they are bound by reading the weight, not by arithmetic.
      int tile = 32;
      for (int candidate : new int[] {128, 64}) {
        if ((long) ceilDiv(outDim, candidate) * ceilDiv(n, candidate) >= multiprocessors) {
          tile = candidate;
          break;
        }
      }
      if (tile == 32 && splitK(x, n, inDim, w, b, outDim, y)) {
        return;
      }
      CUfunction function =
          switch (tile) {
            case 128 -> tiles.gemm128();
            case 64 -> tiles.gemm64();
            default -> tiles.gemm32();
          };
      stream.launch(function, ceilDiv(outDim, tile), ceilDiv(n, tile), 1, 256, 0, args);
    }
  }

  /**
   * y = x · wᵀ (+ b) with 64x64 tiles and K split so that the blocks fill the GPU, when that makes
   * at least 2 chunks of at least {@link #SPLIT_MIN_K}: Nsight Compute showed the 32x32 tiles this
   * replaces at ~1.5 TFLOP/s, 4.1 of a B = 256 decode step's 5.6 ms on an H100. Partial tiles go to
   * a workspace; the reduce adds them in a fixed order, so results do not depend on scheduling.
   *
   * @return false (nothing launched) when K is too short to split
   */
  private boolean splitK(
      CudaTensor x, int n, int inDim, CudaTensor w, CudaTensor b, int outDim, CudaTensor y) {
    long blocks = (long) ceilDiv(outDim, 64) * ceilDiv(n, 64);
    int splits = (int) Math.min((multiprocessors + blocks - 1) / blocks, inDim / SPLIT_MIN_K);
    if (splits < 2) {
      return false;
    }
    int kChunk = ceilDiv(ceilDiv(inDim, splits), SPLIT_K_ALIGN) * SPLIT_K_ALIGN;
    splits = ceilDiv(inDim, kChunk);
    long count = (long) n * outDim;
    DevicePointer partial = splitWorkspace.ensure(splits * count * Float.BYTES, stream);
    stream.launch(
        tiles.gemm64SplitK(),
        ceilDiv(outDim, 64),
        ceilDiv(n, 64),
        splits,
        256,
        0,
        kernels
            .args()
            .ptr(x)
            .ptr(w)
            .ptr(partial.address())
            .i32(n)
            .i32(outDim)
            .i32(inDim)
            .i32(kChunk));
    launchElementwise(
        kernels.splitKReduce,
        count,
        kernels.args().ptr(partial.address()).ptr(b).ptr(y).i32(n).i32(outDim).i32(splits));
    return true;
  }

  /** out[i] = function(a[i], b[i]) for an elementwise binary kernel (add, multiply). */
  void binary(CUfunction function, CudaTensor a, CudaTensor b, long count, CudaTensor out) {
    if (count > 0) {
      launchElementwise(function, count, kernels.args().ptr(a).ptr(b).ptr(out).i64(count));
    }
  }

  void scale(CudaTensor x, float factor, long count, CudaTensor out) {
    if (count > 0) {
      launchElementwise(
          kernels.scale, count, kernels.args().ptr(x).f32(factor).ptr(out).i64(count));
    }
  }

  void activation(Activation kind, CudaTensor x, long count, CudaTensor out) {
    if (count > 0) {
      // activation_f32 numbers the kinds in Activation's declaration order.
      launchElementwise(
          kernels.activation, count, kernels.args().i32(kind.ordinal()).ptr(x).ptr(out).i64(count));
    }
  }

  /**
   * Normalizes the rows of x(n, dim) into out (RMS when bias is null, else layer norm), after x +=
   * delta when delta is not null; one block per row, and the fused kernels read and write only a
   * thread's own columns, so out may be x.
   */
  void normalize(
      CudaTensor x,
      CudaTensor delta,
      int n,
      int dim,
      CudaTensor weight,
      CudaTensor bias,
      float eps,
      CudaTensor out) {
    if (n == 0) {
      return;
    }
    KernelArgs args = kernels.args().ptr(x);
    if (delta != null) {
      args.ptr(delta);
    }
    args.i32(dim).ptr(weight);
    if (bias != null) {
      args.ptr(bias);
    }
    args.f32(eps).ptr(out);
    CUfunction function =
        bias == null
            ? (delta == null ? kernels.rmsNorm : kernels.addRmsNorm)
            : (delta == null ? kernels.layerNorm : kernels.addLayerNorm);
    launchRows(function, n, Math.min(256, rowThreads(dim)), args);
  }

  /** ids[r] = index of the largest of logits(r, 0..vocab), logprobs[r] = its log-softmax. */
  void greedy(CudaTensor logits, int n, int vocab, CudaTensor ids, CudaTensor logprobs) {
    if (n > 0) {
      launchRows(
          kernels.greedy,
          n,
          Math.min(512, rowThreads(vocab)),
          kernels.args().ptr(logits).i32(vocab).ptr(ids).ptr(logprobs));
    }
  }

  /**
   * ids[r], logprobs[r] = row r's token drawn as AttentionBackend.sample says, with settings(n,
   * SamplingRows.FIELDS) doubles on the device.
   */
  void sample(
      CudaTensor logits, int n, int vocab, long settings, CudaTensor ids, CudaTensor logprobs) {
    if (n > 0) {
      launchRows(
          kernels.sample,
          n,
          rowThreads(vocab),
          kernels.args().ptr(logits).i32(vocab).ptr(settings).ptr(ids).ptr(logprobs));
    }
  }

  private void launchElementwise(CUfunction function, long count, KernelArgs args) {
    long blocks = (count + ELEMENTWISE_THREADS - 1) / ELEMENTWISE_THREADS;
    int grid = (int) Math.max(1, Math.min(blocks, 32L * multiprocessors));
    stream.launch(function, grid, 1, 1, ELEMENTWISE_THREADS, 0, args);
  }

  /** One block per row. */
  private void launchRows(CUfunction function, int rows, int threads, KernelArgs args) {
    stream.launch(function, rows, 1, 1, threads, 0, args);
  }

  /** Threads for a row-per-block kernel: a multiple of 32 covering the row, at most 1024. */
  private static int rowThreads(int dim) {
    return Math.min(1024, Math.max(32, (dim + 31) / 32 * 32));
  }

  /** Frees the split-K workspace. */
  @Override
  public void close() {
    splitWorkspace.close();
  }

  static int ceilDiv(int a, int b) {
    return (a + b - 1) / b;
  }
}
