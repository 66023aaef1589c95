package dev.tandem.backend.cuda;

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
import dev.tandem.api.backend.PositionBias;
import dev.tandem.api.backend.SamplingRows;
import dev.tandem.api.block.BlockMapping;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUfunction;
import jcuda.driver.JCudaDriver;

/**
 * {@link AttentionBackend} on one NVIDIA GPU. Every operation is a kernel launch on one stream, so
 * operations run asynchronously in order; {@code read} synchronizes. Host → device writes go
 * through {@link StagedCopies}.
 */
final class CudaBackend implements AttentionBackend {

  private static final System.Logger LOG = System.getLogger(CudaBackend.class.getName());

  static final int MAX_HEAD_DIM = 128;

  private final CudaSettings settings;
  private final CUdevice device = new CUdevice();
  private final CUcontext context = new CUcontext();
  private final KernelStream stream;
  private final CudaKernels kernels;
  private final String deviceName;
  private final Set<CudaTensor> live = Collections.newSetFromMap(new IdentityHashMap<>());

  private CudaKvCache kvCache;
  private DeviceMetadata metadata;
  private final DeviceBuffer metadataBuffer = new DeviceBuffer();
  private final DeviceBuffer blockPairs = new DeviceBuffer();
  private final DeviceBuffer samplingSettings = new DeviceBuffer(); // (rows, FIELDS) doubles
  private final CudaAttention attention;
  private final DenseOps dense;
  private final StagedCopies copies;
  private boolean closed;

  CudaBackend(CudaSettings settings) {
    this.settings = requireNonNull(settings, "settings is null");
    JCudaDriver.cuDeviceGet(device, settings.deviceIndex());
    JCudaDriver.cuDevicePrimaryCtxRetain(context, device);
    JCudaDriver.cuCtxSetCurrent(context);
    int cc = CudaProbe.computeCapability(device);
    if (settings.tf32() && cc < 80) {
      JCudaDriver.cuDevicePrimaryCtxRelease(device);
      throw new IllegalArgumentException(
          "cuda.tf32=true needs compute capability 8.0 or newer; device "
              + settings.deviceIndex()
              + " has "
              + cc / 10
              + "."
              + cc % 10);
    }
    kernels = CudaKernels.load(settings.image());
    stream = new KernelStream(settings.graphs());
    attention = new CudaAttention(kernels, stream, settings.halfWarpDecode());
    copies = new StagedCopies(stream);
    int[] value = new int[1];
    JCudaDriver.cuDeviceGetAttribute(
        value, jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device);
    int multiprocessors = value[0];
    dense =
        new DenseOps(
            kernels,
            stream,
            multiprocessors,
            settings.tf32(),
            settings.stagedGemm() ? kernels.stagedTiles : kernels.plainTiles);
    byte[] name = new byte[256];
    JCudaDriver.cuDeviceGetName(name, name.length, device);
    long[] total = new long[1];
    JCudaDriver.cuDeviceTotalMem(total, device);
    JCudaDriver.cuDriverGetVersion(value);
    deviceName =
        String.format(
            "%s (device %d, sm_%d, %d SMs, %.1f GiB), CUDA driver %d.%d, kernels %s%s",
            new String(name, 0, indexOfZero(name), java.nio.charset.StandardCharsets.US_ASCII),
            settings.deviceIndex(),
            cc,
            multiprocessors,
            total[0] / (double) (1L << 30),
            value[0] / 1000,
            value[0] % 1000 / 10,
            settings.image().extension,
            settings.tf32() ? ", TF32 tensor cores" : ", float32");
    LOG.log(System.Logger.Level.DEBUG, "CUDA backend on {0}", deviceName);
  }

  private static int indexOfZero(byte[] bytes) {
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] == 0) {
        return i;
      }
    }
    return bytes.length;
  }

  @Override
  public String name() {
    return "cuda";
  }

  @Override
  public String deviceName() {
    return deviceName;
  }

  @Override
  public long freeMemoryBytes() {
    enter();
    long[] free = new long[1];
    long[] total = new long[1];
    JCudaDriver.cuMemGetInfo(free, total);
    return free[0];
  }

  /** Makes this backend's context current on the calling thread (contexts are per thread). */
  private void enter() {
    if (closed) {
      throw new IllegalStateException("CUDA backend used after close()");
    }
    JCudaDriver.cuCtxSetCurrent(context);
  }

  // ---- memory

  @Override
  public DeviceTensor allocate(DataType type, long length) {
    requireNonNull(type, "type is null");
    if (length < 0) {
      throw new IllegalArgumentException("length " + length + " must be >= 0");
    }
    enter();
    DevicePointer pointer = new DevicePointer();
    // cuMemAlloc refuses 0 bytes; an empty tensor still gets a (tiny) address.
    long bytes = Math.max(1, length) * type.bytes();
    JCudaDriver.cuMemAlloc(pointer, bytes);
    JCudaDriver.cuMemsetD32Async(pointer, 0, Math.max(1, length), stream.ordered());
    CudaTensor tensor = new CudaTensor(this, type, length, pointer);
    live.add(tensor);
    return tensor;
  }

  @Override
  public DeviceTensor upload(float[] data) {
    requireNonNull(data, "data is null");
    DeviceTensor tensor = allocate(DataType.F32, data.length);
    write(tensor, 0, data, 0, data.length);
    return tensor;
  }

  @Override
  public void write(DeviceTensor dst, long dstOffset, float[] src, int srcOffset, int length) {
    CudaTensor t = range(dst, DataType.F32, dstOffset, length);
    java.util.Objects.checkFromIndexSize(srcOffset, length, src.length);
    enter();
    copies.floats(t.pointer(dstOffset), src, srcOffset, length);
  }

  @Override
  public void write(DeviceTensor dst, long dstOffset, int[] src, int srcOffset, int length) {
    CudaTensor t = range(dst, DataType.I32, dstOffset, length);
    java.util.Objects.checkFromIndexSize(srcOffset, length, src.length);
    enter();
    copies.ints(t.pointer(dstOffset), src, srcOffset, length);
  }

  @Override
  public void read(DeviceTensor src, long srcOffset, float[] dst, int dstOffset, int length) {
    CudaTensor t = range(src, DataType.F32, srcOffset, length);
    java.util.Objects.checkFromIndexSize(dstOffset, length, dst.length);
    enter();
    copies.synchronize();
    JCudaDriver.cuMemcpyDtoH(
        Pointer.to(dst).withByteOffset((long) dstOffset * Float.BYTES),
        t.pointer(srcOffset),
        (long) length * Float.BYTES);
  }

  @Override
  public void read(DeviceTensor src, long srcOffset, int[] dst, int dstOffset, int length) {
    CudaTensor t = range(src, DataType.I32, srcOffset, length);
    java.util.Objects.checkFromIndexSize(dstOffset, length, dst.length);
    enter();
    copies.synchronize();
    JCudaDriver.cuMemcpyDtoH(
        Pointer.to(dst).withByteOffset((long) dstOffset * Integer.BYTES),
        t.pointer(srcOffset),
        (long) length * Integer.BYTES);
  }

  @Override
  public void free(DeviceTensor tensor) {
    CudaTensor t = own(tensor);
    enter();
    live.remove(t);
    stream.ordered(); // recorded kernels that use the tensor enter the stream first
    JCudaDriver.cuMemFree(t.release());
  }

  private CudaTensor own(DeviceTensor tensor) {
    requireNonNull(tensor, "tensor is null");
    if (!(tensor instanceof CudaTensor t) || t.owner() != this) {
      throw new IllegalArgumentException(tensor + " was not allocated by this CUDA backend");
    }
    return t;
  }

  /** The tensor, checked to be ours, of the type, and to hold [offset, offset + length). */
  private CudaTensor range(DeviceTensor tensor, DataType type, long offset, long length) {
    CudaTensor t = own(tensor);
    if (t.dataType() != type) {
      throw new IllegalArgumentException(t + ": expected " + type);
    }
    if (offset < 0 || length < 0 || offset + length > t.length()) {
      throw new IndexOutOfBoundsException(
          "range [" + offset + ", " + (offset + length) + ") outside " + t);
    }
    return t;
  }

  /** The F32 tensor, checked to hold at least {@code values} values. */
  private CudaTensor f32(DeviceTensor tensor, long values) {
    return range(tensor, DataType.F32, 0, values);
  }

  // ---- paged KV cache

  @Override
  public void allocateKvCache(KvCacheSpec spec) {
    requireNonNull(spec, "spec is null");
    if (spec.headDim() > MAX_HEAD_DIM) {
      throw new IllegalArgumentException(
          "headDim "
              + spec.headDim()
              + ": the CUDA attention kernels support up to "
              + MAX_HEAD_DIM);
    }
    enter();
    closeKvCache();
    kvCache = new CudaKvCache(spec, stream);
  }

  private CudaKvCache kvCache() {
    if (kvCache == null) {
      throw new IllegalStateException("no KV cache: call allocateKvCache first");
    }
    return kvCache;
  }

  @Override
  public void swapOut(List<BlockMapping> gpuToCpu) {
    enter();
    kvCache().swapOut(gpuToCpu, stream.ordered());
  }

  @Override
  public void swapIn(List<BlockMapping> cpuToGpu) {
    enter();
    kvCache().swapIn(cpuToGpu, stream.ordered());
  }

  @Override
  public void copyBlocks(List<BlockMapping> srcToDst) {
    CudaKvCache cache = kvCache();
    if (srcToDst.isEmpty()) {
      return;
    }
    int[] pairs = new int[2 * srcToDst.size()];
    for (int i = 0; i < srcToDst.size(); i++) {
      BlockMapping m = srcToDst.get(i);
      cache.spec.checkBlock("cuda", m.src(), "copy source");
      cache.spec.checkBlock("cuda", m.dst(), "copy target");
      pairs[2 * i] = m.src();
      pairs[2 * i + 1] = m.dst();
    }
    enter();
    DevicePointer devicePairs = blockPairs.ensure((long) pairs.length * Integer.BYTES, stream);
    copies.ints(devicePairs, pairs, 0, pairs.length);
    stream.launch(
        kernels.copyBlocks,
        srcToDst.size(),
        cache.numPools(),
        1,
        DenseOps.ELEMENTWISE_THREADS,
        0,
        kernels
            .args()
            .ptr(cache.base())
            .ptr(devicePairs.address())
            .i64(cache.spec.blockElements())
            .i64((long) cache.spec.blockElements() * cache.spec.numBlocks()));
  }

  // ---- dense kernels (launched by DenseOps)

  @Override
  public void embedding(
      DeviceTensor ids, int n, DeviceTensor table, int dim, float scale, DeviceTensor out) {
    CudaTensor idTensor = range(ids, DataType.I32, 0, n);
    CudaTensor tableTensor = own(table);
    CudaTensor outTensor = f32(out, (long) n * dim);
    enter();
    dense.embedding(idTensor, n, tableTensor, dim, scale, outTensor);
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
    CudaTensor xt = f32(x, (long) n * inDim);
    CudaTensor wt = f32(weight, (long) outDim * inDim);
    CudaTensor bt = bias == null ? null : f32(bias, outDim);
    CudaTensor yt = f32(y, (long) n * outDim);
    if (xt == yt) {
      throw new IllegalArgumentException("linear: y must not alias x");
    }
    enter();
    dense.linear(xt, n, inDim, wt, bt, outDim, yt);
  }

  @Override
  public void add(DeviceTensor a, DeviceTensor b, long count, DeviceTensor out) {
    binary(kernels.add, a, b, count, out);
  }

  @Override
  public void multiply(DeviceTensor a, DeviceTensor b, long count, DeviceTensor out) {
    binary(kernels.multiply, a, b, count, out);
  }

  private void binary(
      CUfunction function, DeviceTensor a, DeviceTensor b, long count, DeviceTensor out) {
    CudaTensor at = f32(a, count);
    CudaTensor bt = f32(b, count);
    CudaTensor ot = f32(out, count);
    enter();
    dense.binary(function, at, bt, count, ot);
  }

  @Override
  public void scale(DeviceTensor x, float factor, long count, DeviceTensor out) {
    CudaTensor xt = f32(x, count);
    CudaTensor ot = f32(out, count);
    enter();
    dense.scale(xt, factor, count, ot);
  }

  @Override
  public void activation(Activation kind, DeviceTensor x, long count, DeviceTensor out) {
    requireNonNull(kind, "kind is null");
    CudaTensor xt = f32(x, count);
    CudaTensor ot = f32(out, count);
    enter();
    dense.activation(kind, xt, count, ot);
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
    boolean layer = requireNonNull(kind, "kind is null") == Normalization.LAYER;
    CudaTensor xt = f32(x, (long) n * dim);
    CudaTensor dt = delta == null ? null : f32(delta, (long) n * dim);
    CudaTensor wt = f32(weight, dim);
    CudaTensor bt = layer ? f32(bias, dim) : null;
    CudaTensor ot = f32(out, (long) n * dim);
    if (dt != null && (dt == xt || dt == ot)) {
      throw new IllegalArgumentException("cuda: delta must not alias the residual or out");
    }
    enter();
    dense.normalize(xt, dt, n, dim, wt, bt, eps, ot);
  }

  @Override
  public void greedy(
      DeviceTensor logits, int n, int vocab, DeviceTensor ids, DeviceTensor logprobs) {
    CudaTensor lt = f32(logits, (long) n * vocab);
    CudaTensor it = range(ids, DataType.I32, 0, n);
    CudaTensor pt = f32(logprobs, n);
    enter();
    dense.greedy(lt, n, vocab, it, pt);
  }

  @Override
  public boolean samplesOnDevice() {
    return settings.deviceSampling();
  }

  @Override
  public void sample(
      DeviceTensor logits,
      int n,
      int vocab,
      SamplingRows rows,
      DeviceTensor ids,
      DeviceTensor logprobs) {
    rows.requireRows(n, "cuda");
    CudaTensor lt = f32(logits, (long) n * vocab);
    CudaTensor it = range(ids, DataType.I32, 0, n);
    CudaTensor pt = f32(logprobs, n);
    enter();
    int values = n * SamplingRows.FIELDS;
    DevicePointer settings =
        samplingSettings.ensure(Math.max(1, (long) values * Double.BYTES), stream);
    copies.doubles(settings, rows.packed(), 0, values);
    dense.sample(lt, n, vocab, settings.address(), it, pt);
  }

  // ---- attention

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
    if (spec.headDim() > MAX_HEAD_DIM) {
      throw new IllegalArgumentException(
          "headDim "
              + spec.headDim()
              + ": the CUDA attention kernels support up to "
              + MAX_HEAD_DIM);
    }
    if (spec.bias() != null) {
      f32(spec.bias().table(), (long) spec.bias().numBuckets() * spec.numHeads());
    }
    enter();
    DeviceMetadata md = deviceMetadata(metadata);
    CudaTensor kt = k == null ? null : own(k);
    CudaTensor vt = v == null ? null : own(v);
    attention.run(type, spec, md, kvCache, own(q), kt, vt, own(out));
  }

  /** The step's metadata on the device: uploaded once per AttentionMetadata instance. */
  private DeviceMetadata deviceMetadata(AttentionMetadata m) {
    if (metadata != null && metadata.source == m) {
      return metadata;
    }
    DeviceMetadata md = new DeviceMetadata(m);
    if (kvCache != null) {
      validateCacheReferences(md, kvCache.spec);
    }
    DevicePointer buffer =
        metadataBuffer.ensure(Math.max(1, (long) md.packed.length * Integer.BYTES), stream);
    copies.ints(buffer, md.packed, 0, md.packed.length);
    md.uploadedTo(buffer.address());
    metadata = md;
    return md;
  }

  /** A wrong slot or block number would make a kernel write outside the pool: refuse it here. */
  private static void validateCacheReferences(DeviceMetadata md, KvCacheSpec spec) {
    AttentionMetadata m = md.source;
    if (m.blockSize() != spec.blockSize()) {
      throw new IllegalArgumentException(
          "cuda: metadata block size "
              + m.blockSize()
              + " != KV cache block size "
              + spec.blockSize());
    }
    for (int[] mapping : new int[][] {m.slotMapping(), m.crossSlotMapping()}) {
      for (int t = 0; t < mapping.length; t++) {
        spec.checkSlot("cuda", mapping[t], t);
      }
    }
    for (int[][] tables : new int[][][] {m.blockTables(), m.crossBlockTables()}) {
      for (int[] table : tables) {
        for (int block : table) {
          spec.checkBlock("cuda", block, "block table");
        }
      }
    }
  }

  /** For tests: PositionBias.bucket as the attention kernels compute it. */
  int[] bucketsOnDevice(int relStart, int count, PositionBias bias) {
    enter();
    DevicePointer buckets = new DevicePointer();
    JCudaDriver.cuMemAlloc(buckets, (long) count * Integer.BYTES);
    try {
      stream.launch(
          kernels.t5BucketTable,
          DenseOps.ceilDiv(count, 256),
          1,
          1,
          256,
          0,
          kernels
              .args()
              .i32(relStart)
              .i32(count)
              .i32(bias.bidirectional() ? 1 : 0)
              .i32(bias.numBuckets())
              .i32(bias.maxDistance())
              .ptr(buckets.address()));
      int[] result = new int[count];
      copies.synchronize();
      JCudaDriver.cuMemcpyDtoH(Pointer.to(result), buckets, (long) count * Integer.BYTES);
      return result;
    } finally {
      JCudaDriver.cuMemFree(buckets);
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    JCudaDriver.cuCtxSetCurrent(context);
    stream.synchronize();
    for (CudaTensor t : live) {
      JCudaDriver.cuMemFree(t.release());
    }
    live.clear();
    closeKvCache();
    metadataBuffer.close();
    dense.close();
    blockPairs.close();
    samplingSettings.close();
    copies.close();
    stream.close(); // its graphs first: they launch the modules' functions
    kernels.close();
    closed = true;
    JCudaDriver.cuDevicePrimaryCtxRelease(device);
  }

  private void closeKvCache() {
    if (kvCache != null) {
      stream.ordered(); // recorded kernels that use the cache enter the stream first
      kvCache.close();
      kvCache = null;
    }
  }
}
