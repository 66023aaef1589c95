package dev.tandem.backend.opencl;

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
import dev.tandem.api.backend.SamplingRows;
import dev.tandem.api.block.BlockMapping;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The backend facade: checks every call's shapes against its tensors (a kernel never reads out of
 * bounds), sets the kernel's arguments and launches it. Tensors are ranges of two device arenas,
 * one for F32 and one for I32, that grow (by copying) while weights are uploaded.
 *
 * <p>{@link #linear} multiplies by a transposed copy of the weight, made on its first use and kept
 * until the weight is written, used as an output, or freed: with (inDim, outDim) rows, a GPU's
 * neighbouring work-items read neighbouring floats (coalesced) and a CPU device's inner loop runs
 * along contiguous floats (vectorized). This doubles the memory of linear weights.
 */
final class OpenClBackend implements AttentionBackend {

  private static final System.Logger LOG = System.getLogger(OpenClBackend.class.getName());

  /** Rows below which the 1×4 GEMM tile beats the 4×4 one (which would compute absent rows). */
  private static final int GEMM_4X4_MIN_ROWS = 4;

  /** Parts a logits row is split into for the greedy choice (see DeviceKernel.greedyParts). */
  private static final int GREEDY_PARTS = 64;

  private final DeviceOps ops;
  private final DeviceKernel k;
  private final LaunchArgs args;
  private final Gemm gemm;
  private final DeviceMemory memory;
  private final Arena floats = new Arena();
  private final Arena ints = new Arena();
  private final Set<ClTensor> live = new HashSet<>();
  private final Map<ClTensor, ClTensor> transposed = new IdentityHashMap<>(); // weight -> (in, out)
  private final AttentionPlans plans;
  private final OpenClAttention attention;
  private OpenClKvCache cache;
  private ClTensor greedyIndex; // I32 (rows * parts): scratch of greedy
  private ClTensor greedyMaxSum; // (rows * parts, 2): scratch of greedy
  private ClTensor sampleSettings; // (rows, SAMPLE_FLOATS): scratch of sample
  private ClTensor sampleFlags; // I32 (rows, SAMPLE_INTS): scratch of sample

  /** The GEMM kernel {@link #linear} launches (below 4 rows: the 1×4 tile, but for STRIPS). */
  enum Gemm {
    /** Register tiles, one dot product per output: for GPUs. */
    TILES,
    /** Row-pair strips accumulated along k: for CPU devices, whose compilers vectorize them. */
    STRIPS,
    /** 32 × 32 tiles of y staged through local memory: for GPUs; not measured on one yet. */
    LOCAL
  }

  OpenClBackend(DeviceOps ops, Gemm gemm, boolean attentionGroups) {
    this.ops = ops;
    this.k = ops.kernel();
    this.args = ops.args();
    this.gemm = gemm;
    this.memory = new DeviceMemory(ops);
    this.plans = new AttentionPlans(ops);
    this.attention = new OpenClAttention(ops, plans, attentionGroups);
    LOG.log(System.Logger.Level.DEBUG, "opencl backend: {0}", deviceName());
  }

  /** Where the time went, with option opencl.profile=true; else null. */
  String profileTable() {
    return ops.profileTable();
  }

  @Override
  public String name() {
    return "opencl";
  }

  @Override
  public String deviceName() {
    return "OpenCL " + OpenClDevices.describe(ops.device()) + " via Aparapi";
  }

  @Override
  public long freeMemoryBytes() {
    return memory.freeBesideSwap(0);
  }

  @Override
  public long freeMemoryBesideSwap(long swapBytes) {
    return memory.freeBesideSwap(swapBytes);
  }

  // ---- memory

  @Override
  public DeviceTensor allocate(DataType type, long length) {
    ClTensor tensor = reserve(type, length);
    if (type == DataType.F32) {
      ops.fill(tensor.offset(), (int) length, 0f);
    } else {
      ops.fillInts(tensor.offset(), (int) length, 0);
    }
    return tensor;
  }

  /** A new tensor whose contents are undefined until written. */
  private ClTensor reserve(DataType type, long length) {
    requireNonNull(type, "type is null");
    if (length < 0 || length > DeviceOps.MAX_ARRAY - Arena.ALIGNMENT) {
      throw new IllegalArgumentException("opencl: tensor length " + length + " out of range");
    }
    int size = Arena.reserved((int) length);
    boolean isFloat = type == DataType.F32;
    Arena arena = isFloat ? floats : ints;
    int capacity = isFloat ? k.mem.length : k.ints.length;
    int offset = arena.allocate(size, capacity);
    if (offset < 0) {
      long grown = Math.max(arena.capacityFor(size), 2L * capacity);
      grown = Math.max(arena.capacityFor(size), Math.min(grown, ops.maxBufferFloats()));
      String what = "the " + type + " arena (weights and activations) for a tensor of " + length;
      if (isFloat) {
        ops.growMem(grown, what);
      } else {
        ops.growInts(grown, what);
      }
      offset = arena.allocate(size, isFloat ? k.mem.length : k.ints.length);
    }
    ClTensor tensor = new ClTensor(type, offset, (int) length, size);
    live.add(tensor);
    return tensor;
  }

  @Override
  public DeviceTensor upload(float[] data) {
    DeviceTensor tensor = reserve(DataType.F32, data.length);
    write(tensor, 0, data, 0, data.length);
    return tensor;
  }

  @Override
  public void write(DeviceTensor dst, long dstOffset, float[] src, int srcOffset, int length) {
    ClTensor t = changed(ClTensor.of(dst, DataType.F32, "dst"));
    Objects.checkFromIndexSize(srcOffset, length, src.length);
    ops.writeFloats(t.offset() + range(t, dstOffset, length, "dst"), src, srcOffset, length);
  }

  @Override
  public void write(DeviceTensor dst, long dstOffset, int[] src, int srcOffset, int length) {
    ClTensor t = ClTensor.of(dst, DataType.I32, "dst");
    Objects.checkFromIndexSize(srcOffset, length, src.length);
    ops.writeInts(t.offset() + range(t, dstOffset, length, "dst"), src, srcOffset, length);
  }

  @Override
  public void read(DeviceTensor src, long srcOffset, float[] dst, int dstOffset, int length) {
    ClTensor t = ClTensor.of(src, DataType.F32, "src");
    Objects.checkFromIndexSize(dstOffset, length, dst.length);
    ops.readFloats(t.offset() + range(t, srcOffset, length, "src"), dst, dstOffset, length);
  }

  @Override
  public void read(DeviceTensor src, long srcOffset, int[] dst, int dstOffset, int length) {
    ClTensor t = ClTensor.of(src, DataType.I32, "src");
    Objects.checkFromIndexSize(dstOffset, length, dst.length);
    ops.readInts(t.offset() + range(t, srcOffset, length, "src"), dst, dstOffset, length);
  }

  /** [offset, offset + length) inside the tensor, checked; returns offset as an int. */
  private static int range(ClTensor t, long offset, long length, String role) {
    if (offset < 0 || length < 0 || offset + length > t.length()) {
      throw new IndexOutOfBoundsException(
          "opencl: "
              + role
              + " range ["
              + offset
              + ", "
              + (offset + length)
              + ") outside the tensor's "
              + t.length()
              + " elements");
    }
    return (int) offset;
  }

  @Override
  public void free(DeviceTensor tensor) {
    requireNonNull(tensor, "tensor is null");
    ClTensor t = changed(ClTensor.of(tensor, tensor.dataType(), "tensor"));
    live.remove(t);
    t.markFreed();
    (t.dataType() == DataType.F32 ? floats : ints).release(t.offset(), t.reserved());
  }

  // ---- paged KV cache

  @Override
  public void allocateKvCache(KvCacheSpec spec) {
    requireNonNull(spec, "spec is null");
    cache = null; // let the old pools be collected before sizing the new ones
    memory.checkKvCacheFits(spec);
    cache = new OpenClKvCache(spec, ops);
    attention.useCache(cache);
  }

  private OpenClKvCache cache() {
    if (cache == null) {
      throw new IllegalStateException("opencl: no KV cache: call allocateKvCache first");
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

  static void nonNegative(int value, String name) {
    if (value < 0) {
      throw new IllegalArgumentException("opencl: " + name + "=" + value + ": must be >= 0");
    }
  }

  private static int count(long count) {
    if (count < 0 || count > DeviceOps.MAX_ARRAY) {
      throw new IllegalArgumentException("opencl: count=" + count + " out of range");
    }
    return (int) count;
  }

  private static String shape(long rows, long cols) {
    return "(" + rows + ", " + cols + ")";
  }

  private static ClTensor floats(DeviceTensor t, String role, long needed, String shape) {
    return ClTensor.of(t, DataType.F32, role).need(needed, role, shape);
  }

  /** An output tensor: checked like an input, and any transposed copy of it is dropped. */
  private ClTensor output(DeviceTensor t, String role, long needed, String shape) {
    return changed(floats(t, role, needed, shape));
  }

  /** Drops the transposed copy of a tensor whose values change (or that is freed). */
  private ClTensor changed(ClTensor tensor) {
    ClTensor copy = transposed.remove(tensor);
    if (copy != null) {
      free(copy);
    }
    return tensor;
  }

  /** The (inDim, outDim) copy of a weight (outDim, inDim), transposed on the device once. */
  private ClTensor transposedWeight(ClTensor weight, int outDim, int inDim) {
    ClTensor copy = transposed.get(weight);
    if (copy != null && copy.length() == (long) outDim * inDim && copy.rows() == inDim) {
      return copy;
    }
    changed(weight);
    copy = reserve(DataType.F32, (long) outDim * inDim);
    copy.shapeAs(inDim);
    args.in0 = weight.offset();
    args.out = copy.offset();
    args.rows = outDim;
    args.cols = inDim;
    ops.launch(DeviceKernel.OP_TRANSPOSE, count((long) outDim * inDim));
    transposed.put(weight, copy);
    return copy;
  }

  @Override
  public void embedding(
      DeviceTensor ids, int n, DeviceTensor table, int dim, float scale, DeviceTensor out) {
    nonNegative(n, "n");
    nonNegative(dim, "dim");
    ClTensor idT = ClTensor.of(ids, DataType.I32, "ids").need(n, "ids", "(" + n + ")");
    ClTensor tableT = ClTensor.of(table, DataType.F32, "table");
    ClTensor outT = output(out, "out", (long) n * dim, shape(n, dim));
    if (n == 0 || dim == 0) {
      return;
    }
    args.in0 = idT.offset();
    args.in1 = tableT.offset();
    args.out = outT.offset();
    args.inner = dim;
    args.cols = (int) (tableT.length() / dim); // rows of the table: larger ids give NaN
    args.factor = scale;
    ops.launch(DeviceKernel.OP_EMBEDDING, count((long) n * dim));
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
    nonNegative(n, "n");
    nonNegative(inDim, "inDim");
    nonNegative(outDim, "outDim");
    if (x == y) {
      throw new IllegalArgumentException("opencl: linear output y must not alias its input x");
    }
    ClTensor xt = floats(x, "x", (long) n * inDim, shape(n, inDim));
    ClTensor wt = floats(weight, "weight", (long) outDim * inDim, shape(outDim, inDim));
    ClTensor bt = bias == null ? null : floats(bias, "bias", outDim, "(" + outDim + ")");
    ClTensor yt = output(y, "y", (long) n * outDim, shape(n, outDim));
    if (n == 0 || outDim == 0) {
      return;
    }
    args.in1 = transposedWeight(wt, outDim, inDim).offset();
    args.in0 = xt.offset();
    args.in2 = bt == null ? -1 : bt.offset();
    args.out = yt.offset();
    args.rows = n;
    args.cols = outDim;
    args.inner = inDim;
    int colTiles = (outDim + 3) / 4;
    if (gemm == Gemm.STRIPS) {
      int strips = (outDim + DeviceKernel.STRIP - 1) / DeviceKernel.STRIP;
      ops.launchSpread(DeviceKernel.OP_GEMM_STRIPS, count((long) ((n + 1) / 2) * strips));
    } else if (n < GEMM_4X4_MIN_ROWS) {
      ops.launch(DeviceKernel.OP_GEMM_1X4, count((long) n * colTiles));
    } else if (gemm == Gemm.LOCAL) {
      ops.launch(DeviceKernel.OP_GEMM_LOCAL, count(DeviceGemm.localItems(n, outDim)));
    } else {
      ops.launch(DeviceKernel.OP_GEMM_4X4, count((long) ((n + 3) / 4) * colTiles));
    }
  }

  @Override
  public void add(DeviceTensor a, DeviceTensor b, long count, DeviceTensor out) {
    binary(DeviceKernel.OP_ADD, a, b, count, out);
  }

  @Override
  public void multiply(DeviceTensor a, DeviceTensor b, long count, DeviceTensor out) {
    binary(DeviceKernel.OP_MULTIPLY, a, b, count, out);
  }

  private void binary(int op, DeviceTensor a, DeviceTensor b, long count, DeviceTensor out) {
    int c = count(count);
    String shape = "(" + c + ")";
    args.in0 = floats(a, "a", c, shape).offset();
    args.in1 = floats(b, "b", c, shape).offset();
    args.out = output(out, "out", c, shape).offset();
    ops.launch(op, c);
  }

  @Override
  public void scale(DeviceTensor x, float factor, long count, DeviceTensor out) {
    int c = count(count);
    args.in0 = floats(x, "x", c, "(" + c + ")").offset();
    args.out = output(out, "out", c, "(" + c + ")").offset();
    args.factor = factor;
    ops.launch(DeviceKernel.OP_SCALE, c);
  }

  @Override
  public void activation(Activation kind, DeviceTensor x, long count, DeviceTensor out) {
    requireNonNull(kind, "kind is null");
    int c = count(count);
    args.in0 = floats(x, "x", c, "(" + c + ")").offset();
    args.out = output(out, "out", c, "(" + c + ")").offset();
    args.mode =
        switch (kind) {
          case RELU -> DeviceKernel.ACT_RELU;
          case GELU -> DeviceKernel.ACT_GELU;
          case GELU_TANH -> DeviceKernel.ACT_GELU_TANH;
          case SILU -> DeviceKernel.ACT_SILU;
        };
    ops.launch(DeviceKernel.OP_ACTIVATION, c);
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
    nonNegative(n, "n");
    nonNegative(dim, "dim");
    long count = (long) n * dim;
    ClTensor xt =
        delta == null ? floats(x, "x", count, shape(n, dim)) : output(x, "x", count, shape(n, dim));
    ClTensor dt = delta == null ? null : floats(delta, "delta", count, shape(n, dim));
    ClTensor ot = output(out, "out", count, shape(n, dim));
    if (dt != null && (dt == xt || dt == ot)) {
      throw new IllegalArgumentException("opencl: delta must not alias the residual or out");
    }
    args.in0 = xt.offset();
    args.mode = dt == null ? -1 : dt.offset();
    args.in1 = floats(weight, "weight", dim, "(" + dim + ")").offset();
    boolean layer = requireNonNull(kind, "kind is null") == Normalization.LAYER;
    if (layer) {
      args.in2 = floats(bias, "bias", dim, "(" + dim + ")").offset();
    }
    args.out = ot.offset();
    args.inner = dim;
    args.factor = eps;
    ops.launch(layer ? DeviceKernel.OP_LAYER_NORM : DeviceKernel.OP_RMS_NORM, dim == 0 ? 0 : n);
  }

  @Override
  public void greedy(
      DeviceTensor logits, int n, int vocab, DeviceTensor ids, DeviceTensor logprobs) {
    nonNegative(n, "n");
    if (vocab < 1) {
      throw new IllegalArgumentException("opencl: greedy vocab=" + vocab + ": must be >= 1");
    }
    int logitsAt = floats(logits, "logits", (long) n * vocab, shape(n, vocab)).offset();
    int idsAt = ClTensor.of(ids, DataType.I32, "ids").need(n, "ids", "(" + n + ")").offset();
    int logprobsAt = output(logprobs, "logprobs", n, "(" + n + ")").offset();
    if (n == 0) {
      return;
    }
    int parts = Math.min(GREEDY_PARTS, vocab);
    ensureGreedyScratch(n * parts);
    args.in0 = logitsAt;
    args.in1 = greedyMaxSum.offset();
    args.in2 = greedyIndex.offset();
    args.inner = vocab;
    args.cols = parts;
    ops.launchSpread(DeviceKernel.OP_GREEDY_PARTS, n * parts);
    args.out = idsAt;
    args.mode = logprobsAt;
    ops.launch(DeviceKernel.OP_GREEDY_MERGE, n);
  }

  @Override
  public boolean samplesOnDevice() {
    return true;
  }

  @Override
  public void sample(
      DeviceTensor logits,
      int n,
      int vocab,
      SamplingRows rows,
      DeviceTensor ids,
      DeviceTensor logprobs) {
    nonNegative(n, "n");
    if (vocab < 1) {
      throw new IllegalArgumentException("opencl: sample vocab=" + vocab + ": must be >= 1");
    }
    rows.requireRows(n, "opencl");
    int logitsAt = floats(logits, "logits", (long) n * vocab, shape(n, vocab)).offset();
    int idsAt = ClTensor.of(ids, DataType.I32, "ids").need(n, "ids", "(" + n + ")").offset();
    int logprobsAt = output(logprobs, "logprobs", n, "(" + n + ")").offset();
    if (n == 0) {
      return;
    }
    float[] settings = new float[n * DeviceSampling.SAMPLE_FLOATS];
    int[] flags = new int[n * DeviceSampling.SAMPLE_INTS];
    for (int r = 0; r < n; r++) {
      double t = rows.temperature(r);
      settings[r * DeviceSampling.SAMPLE_FLOATS] = t == 0 || t == 1 ? 1f : (float) (1 / t);
      settings[r * DeviceSampling.SAMPLE_FLOATS + 1] =
          rows.minP(r) > 0 ? (float) Math.log(rows.minP(r)) : Float.NEGATIVE_INFINITY;
      flags[r * DeviceSampling.SAMPLE_INTS] = t == 0 ? 1 : 0;
      flags[r * DeviceSampling.SAMPLE_INTS + 1] = rows.topK(r);
      flags[r * DeviceSampling.SAMPLE_INTS + 2] = rows.topP(r) < 1 ? fixed31(rows.topP(r)) : -1;
      flags[r * DeviceSampling.SAMPLE_INTS + 3] = fixed31(rows.uniform(r));
    }
    ensureSampleScratch(n);
    ops.writeFloats(sampleSettings.offset(), settings, 0, settings.length);
    ops.writeInts(sampleFlags.offset(), flags, 0, flags.length);
    args.in0 = logitsAt;
    args.in1 = sampleSettings.offset();
    args.in2 = sampleFlags.offset();
    args.inner = vocab;
    args.out = idsAt;
    args.cols = logprobsAt;
    ops.launchGroups(DeviceKernel.OP_SAMPLE, n);
  }

  /** floor(f · 2^31) for f in [0, 1). */
  private static int fixed31(double f) {
    return (int) Math.min(Integer.MAX_VALUE, Math.floor(f * 0x1p31));
  }

  /** Room for the settings of {@code rows} sampled rows (grown, never shrunk). */
  private void ensureSampleScratch(int rows) {
    if (sampleFlags == null || sampleFlags.length() < (long) rows * DeviceSampling.SAMPLE_INTS) {
      if (sampleFlags != null) {
        free(sampleFlags);
        free(sampleSettings);
      }
      sampleFlags = reserve(DataType.I32, (long) rows * DeviceSampling.SAMPLE_INTS);
      sampleSettings = reserve(DataType.F32, (long) rows * DeviceSampling.SAMPLE_FLOATS);
    }
  }

  /** Room for {@code parts} partial results of the greedy choice (grown, never shrunk). */
  private void ensureGreedyScratch(int parts) {
    if (greedyIndex == null || greedyIndex.length() < parts) {
      if (greedyIndex != null) {
        free(greedyIndex);
        free(greedyMaxSum);
      }
      greedyIndex = reserve(DataType.I32, parts);
      greedyMaxSum = reserve(DataType.F32, 2L * parts);
    }
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
      throw new IllegalArgumentException("opencl: attention output must not alias q, k or v");
    }
    changed(ClTensor.of(out, DataType.F32, "out"));
    attention.run(type, spec, q, k, v, out, metadata);
  }

  @Override
  public void close() {
    for (ClTensor t : live) {
      t.markFreed();
    }
    live.clear();
    transposed.clear();
    floats.clear();
    ints.clear();
    cache = null;
    ops.close();
  }
}
