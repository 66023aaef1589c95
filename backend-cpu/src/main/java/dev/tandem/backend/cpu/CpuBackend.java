package dev.tandem.backend.cpu;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.backend.Activation;
import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionMetadata;
import dev.tandem.api.backend.AttentionSpec;
import dev.tandem.api.backend.AttentionType;
import dev.tandem.api.backend.DataType;
import dev.tandem.api.backend.DeviceTensor;
import dev.tandem.api.backend.KvCacheSpec;
import dev.tandem.api.backend.Normalization;
import dev.tandem.api.block.BlockMapping;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The backend facade: checks every call's shapes against its tensors (so a kernel never reads out
 * of bounds or silently short), then hands the arrays to the kernels. All work is synchronous.
 */
final class CpuBackend implements AttentionBackend {

  private static final System.Logger LOG = System.getLogger(CpuBackend.class.getName());

  /** Share of the heap kept free when reporting allocatable memory: GC needs room to work. */
  private static final double HEAP_HEADROOM = 0.1;

  private final WorkerPool pool;
  private final Gemm gemm;
  private final Elementwise elementwise;
  private final RowOps rowOps;
  private final AttentionOp attention;
  private final Set<CpuTensor> live = new HashSet<>();
  private KvCache cache;

  CpuBackend(int threads) {
    this.pool = new WorkerPool(threads);
    this.gemm = new Gemm(pool);
    this.elementwise = new Elementwise(pool);
    this.rowOps = new RowOps(pool);
    this.attention = new AttentionOp(new Attention(pool), pool);
    LOG.log(System.Logger.Level.DEBUG, "cpu backend: {0}", deviceName());
  }

  @Override
  public String name() {
    return "cpu";
  }

  @Override
  public String deviceName() {
    return "CPU, " + pool.threads() + " threads, Vector API " + Simd.describe();
  }

  @Override
  public long freeMemoryBytes() {
    Runtime rt = Runtime.getRuntime();
    long used = rt.totalMemory() - rt.freeMemory();
    long headroom = (long) (rt.maxMemory() * HEAP_HEADROOM);
    return Math.max(0, rt.maxMemory() - used - headroom);
  }

  /** The KV cache and the swap pool are both arrays on this heap. */
  @Override
  public long freeMemoryBesideSwap(long swapBytes) {
    return Math.max(0, freeMemoryBytes() - swapBytes);
  }

  // ---- memory

  @Override
  public DeviceTensor allocate(DataType type, long length) {
    return track(CpuTensor.allocate(type, length));
  }

  @Override
  public DeviceTensor upload(float[] data) {
    return track(CpuTensor.wrap(data.clone()));
  }

  private CpuTensor track(CpuTensor tensor) {
    live.add(tensor);
    return tensor;
  }

  @Override
  public void write(DeviceTensor dst, long dstOffset, float[] src, int srcOffset, int length) {
    float[] target = CpuTensor.floats(dst, "dst");
    Objects.checkFromIndexSize(srcOffset, length, src.length);
    System.arraycopy(
        src, srcOffset, target, range(dstOffset, length, target.length, "dst"), length);
  }

  @Override
  public void write(DeviceTensor dst, long dstOffset, int[] src, int srcOffset, int length) {
    int[] target = CpuTensor.ints(dst, "dst");
    Objects.checkFromIndexSize(srcOffset, length, src.length);
    System.arraycopy(
        src, srcOffset, target, range(dstOffset, length, target.length, "dst"), length);
  }

  @Override
  public void read(DeviceTensor src, long srcOffset, float[] dst, int dstOffset, int length) {
    float[] source = CpuTensor.floats(src, "src");
    Objects.checkFromIndexSize(dstOffset, length, dst.length);
    System.arraycopy(
        source, range(srcOffset, length, source.length, "src"), dst, dstOffset, length);
  }

  @Override
  public void read(DeviceTensor src, long srcOffset, int[] dst, int dstOffset, int length) {
    int[] source = CpuTensor.ints(src, "src");
    Objects.checkFromIndexSize(dstOffset, length, dst.length);
    System.arraycopy(
        source, range(srcOffset, length, source.length, "src"), dst, dstOffset, length);
  }

  /** The int offset of [offset, offset + length) inside a tensor of {@code capacity}, checked. */
  private static int range(long offset, long length, int capacity, String role) {
    if (offset < 0 || length < 0 || offset + length > capacity) {
      throw new IndexOutOfBoundsException(
          "cpu: "
              + role
              + " range ["
              + offset
              + ", "
              + (offset + length)
              + ") outside the tensor's "
              + capacity
              + " elements");
    }
    return (int) offset;
  }

  @Override
  public void free(DeviceTensor tensor) {
    CpuTensor t = CpuTensor.live(tensor, "tensor");
    live.remove(t);
    t.release();
  }

  // ---- paged KV cache

  @Override
  public void allocateKvCache(KvCacheSpec spec) {
    requireNonNull(spec, "spec is null");
    cache = null; // let the old pools be collected before sizing the new ones
    long free = freeMemoryBytes();
    if (KvCache.bytes(spec) > free) {
      // The estimate counts unreachable objects (a closed engine's cache, say) as used: collect
      // them once before refusing.
      System.gc();
      free = freeMemoryBytes();
    }
    cache = KvCache.allocate(spec, free);
  }

  private KvCache cache() {
    if (cache == null) {
      throw new IllegalStateException("cpu: no KV cache: call allocateKvCache first");
    }
    return cache;
  }

  @Override
  public void swapOut(List<BlockMapping> gpuToCpu) {
    cache().swapOut(requireNonNull(gpuToCpu, "gpuToCpu is null"));
  }

  @Override
  public void swapIn(List<BlockMapping> cpuToGpu) {
    cache().swapIn(requireNonNull(cpuToGpu, "cpuToGpu is null"));
  }

  @Override
  public void copyBlocks(List<BlockMapping> srcToDst) {
    cache().copyBlocks(requireNonNull(srcToDst, "srcToDst is null"));
  }

  // ---- kernels

  /** Fails unless a tensor holds at least {@code needed} elements for its role and shape. */
  static void need(float[] data, long needed, String role, String shape) {
    if (needed > data.length) {
      throw new IllegalArgumentException(
          "cpu: "
              + role
              + " "
              + shape
              + " needs "
              + needed
              + " floats, the tensor has "
              + data.length);
    }
  }

  /**
   * As {@link #need(float[], long, String, String)} for a (rows, cols) operand; the shape is
   * spelled out only when the check fails (every op checks its operands, so this runs ~100 times a
   * decode step).
   */
  static void need(float[] data, long rows, long cols, String role) {
    if (rows * cols > data.length) {
      need(data, rows * cols, role, "(" + rows + ", " + cols + ")");
    }
  }

  /** As {@link #need(float[], long, long, String)} for a vector of {@code length}. */
  static void need(float[] data, long length, String role) {
    if (length > data.length) {
      need(data, length, role, "(" + length + ")");
    }
  }

  private static void need(int[] data, long length, String role) {
    if (length > data.length) {
      throw new IllegalArgumentException(
          "cpu: "
              + role
              + " ("
              + length
              + ") needs "
              + length
              + " ints, the tensor has "
              + data.length);
    }
  }

  private static void positive(int value, String name) {
    if (value < 0) {
      throw new IllegalArgumentException("cpu: " + name + "=" + value + ": must be >= 0");
    }
  }

  private static int count(long count) {
    if (count < 0 || count > CpuTensor.MAX_ARRAY_LENGTH) {
      throw new IllegalArgumentException("cpu: count=" + count + " out of range");
    }
    return (int) count;
  }

  @Override
  public void embedding(
      DeviceTensor ids, int n, DeviceTensor table, int dim, float scale, DeviceTensor out) {
    positive(n, "n");
    positive(dim, "dim");
    int[] idArray = CpuTensor.ints(ids, "ids");
    float[] tableArray = CpuTensor.floats(table, "table");
    float[] outArray = CpuTensor.floats(out, "out");
    need(idArray, n, "ids");
    need(outArray, n, dim, "out");
    if (dim == 0 || n == 0) {
      return;
    }
    rowOps.embedding(idArray, n, tableArray, dim, scale, outArray);
  }

  @Override
  public void linear(
      DeviceTensor x,
      int n,
      int inDim,
      DeviceTensor weight,
      DeviceTensor bias,
      int outDim,
      DeviceTensor y) {
    positive(n, "n");
    positive(inDim, "inDim");
    positive(outDim, "outDim");
    if (x == y) {
      throw new IllegalArgumentException("cpu: linear output y must not alias its input x");
    }
    float[] xa = CpuTensor.floats(x, "x");
    float[] wa = CpuTensor.floats(weight, "weight");
    float[] ba = bias == null ? null : CpuTensor.floats(bias, "bias");
    float[] ya = CpuTensor.floats(y, "y");
    need(xa, n, inDim, "x");
    need(wa, outDim, inDim, "weight");
    if (ba != null) {
      need(ba, outDim, "bias");
    }
    need(ya, n, outDim, "y");
    if (n == 0 || outDim == 0) {
      return;
    }
    gemm.multiply(xa, n, inDim, wa, ba, outDim, ya);
  }

  @Override
  public void add(DeviceTensor a, DeviceTensor b, long count, DeviceTensor out) {
    int c = count(count);
    elementwise.add(operand(a, "a", c), operand(b, "b", c), c, operand(out, "out", c));
  }

  @Override
  public void multiply(DeviceTensor a, DeviceTensor b, long count, DeviceTensor out) {
    int c = count(count);
    elementwise.multiply(operand(a, "a", c), operand(b, "b", c), c, operand(out, "out", c));
  }

  @Override
  public void scale(DeviceTensor x, float factor, long count, DeviceTensor out) {
    int c = count(count);
    elementwise.scale(operand(x, "x", c), factor, c, operand(out, "out", c));
  }

  @Override
  public void activation(Activation kind, DeviceTensor x, long count, DeviceTensor out) {
    requireNonNull(kind, "kind is null");
    int c = count(count);
    elementwise.activation(kind, operand(x, "x", c), c, operand(out, "out", c));
  }

  private static float[] operand(DeviceTensor tensor, String role, int count) {
    float[] data = CpuTensor.floats(tensor, role);
    need(data, count, role);
    return data;
  }

  @Override
  public void normalize(
      Normalization kind,
      DeviceTensor x,
      DeviceTensor delta,
      int n,
      int dim,
      DeviceTensor weight,
      DeviceTensor bias,
      float eps,
      DeviceTensor out) {
    positive(n, "n");
    positive(dim, "dim");
    int count = count((long) n * dim);
    float[] xa = operand(x, "x", count);
    float[] da = delta == null ? null : operand(delta, "delta", count);
    float[] wa = operand(weight, "weight", dim);
    float[] oa = operand(out, "out", count);
    if (da != null && (da == xa || da == oa)) {
      throw new IllegalArgumentException("cpu: delta must not alias the residual or out");
    }
    if (requireNonNull(kind, "kind is null") == Normalization.RMS) {
      rowOps.rmsNorm(xa, da, n, dim, wa, eps, oa);
    } else {
      rowOps.layerNorm(xa, da, n, dim, wa, operand(bias, "bias", dim), eps, oa);
    }
  }

  @Override
  public void greedy(
      DeviceTensor logits, int n, int vocab, DeviceTensor ids, DeviceTensor logprobs) {
    positive(n, "n");
    if (vocab < 1) {
      throw new IllegalArgumentException("cpu: greedy vocab=" + vocab + ": must be >= 1");
    }
    float[] la = operand(logits, "logits", count((long) n * vocab));
    int[] ia = CpuTensor.ints(ids, "ids");
    need(ia, n, "ids");
    float[] pa = operand(logprobs, "logprobs", n);
    rowOps.greedy(la, n, vocab, ia, pa);
  }

  @Override
  public void attention(
      AttentionType type,
      AttentionSpec spec,
      DeviceTensor q,
      DeviceTensor k,
      DeviceTensor v,
      DeviceTensor out,
      AttentionMetadata metadata) {
    requireNonNull(type, "type is null");
    requireNonNull(spec, "spec is null");
    requireNonNull(metadata, "metadata is null");
    if (out == q || out == k || out == v) {
      throw new IllegalArgumentException("cpu: attention output must not alias q, k or v");
    }
    attention.run(type, spec, q, k, v, out, metadata, cache);
  }

  @Override
  public void close() {
    pool.close();
    for (CpuTensor t : live) {
      t.release();
    }
    live.clear();
    cache = null;
  }
}
