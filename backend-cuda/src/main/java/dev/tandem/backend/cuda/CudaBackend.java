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
import dev.tandem.api.backend.PositionBias;
import dev.tandem.api.block.BlockMapping;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/**
 * {@link AttentionBackend} on one NVIDIA GPU. Every operation is a kernel launch on one stream, so
 * operations run asynchronously in order; {@code read} synchronizes. Host → device writes of up to
 * {@link #STAGING_BYTES} go through a pinned staging buffer with asynchronous copies (the buffer is
 * recycled at each synchronization); larger ones (weights) are synchronous copies.
 */
final class CudaBackend implements AttentionBackend {

  private static final System.Logger LOG = System.getLogger(CudaBackend.class.getName());

  static final int STAGING_BYTES = 16 << 20;
  private static final int STAGING_ALIGN = 256;
  private static final int ELEMENTWISE_THREADS = 256;
  static final int MAX_HEAD_DIM = 128;
  private static final int ATTENTION_THREADS = 128;
  private static final int PREFILL_QUERIES = 16;
  private static final int GEMV_MAX_ROWS = 8;
  private static final int GEMV_WARPS = 8;

  private final CudaSettings settings;
  private final CUdevice device = new CUdevice();
  private final CUcontext context = new CUcontext();
  private final CUstream stream = new CUstream();
  private final CudaKernels kernels;
  private final String deviceName;
  private final int multiprocessors;
  private final Set<CudaTensor> live = Collections.newSetFromMap(new IdentityHashMap<>());

  private final Pointer staging = new Pointer();
  private final ByteBuffer stagingBuffer;
  private long stagingUsed;

  private CudaKvCache kvCache;
  private DeviceMetadata metadata;
  private final DeviceBuffer metadataBuffer = new DeviceBuffer();
  private final DeviceBuffer blockPairs = new DeviceBuffer();
  private final CudaAttention attention;
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
    attention = new CudaAttention(kernels, stream);
    // A blocking stream: the legacy default stream's synchronous copies order with it.
    JCudaDriver.cuStreamCreate(stream, 0);
    JCudaDriver.cuMemAllocHost(staging, STAGING_BYTES);
    stagingBuffer = staging.getByteBuffer(0, STAGING_BYTES).order(ByteOrder.nativeOrder());
    int[] value = new int[1];
    JCudaDriver.cuDeviceGetAttribute(
        value, jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device);
    multiprocessors = value[0];
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
    JCudaDriver.cuMemsetD32Async(pointer, 0, Math.max(1, length), stream);
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
    long bytes = (long) length * Float.BYTES;
    long staged = reserveStaging(bytes);
    if (staged >= 0) {
      stagingBuffer
          .slice((int) staged, (int) bytes)
          .order(ByteOrder.nativeOrder())
          .asFloatBuffer()
          .put(src, srcOffset, length);
      JCudaDriver.cuMemcpyHtoDAsync(
          t.pointer(dstOffset), staging.withByteOffset(staged), bytes, stream);
    } else {
      JCudaDriver.cuMemcpyHtoD(
          t.pointer(dstOffset),
          Pointer.to(src).withByteOffset((long) srcOffset * Float.BYTES),
          bytes);
    }
  }

  @Override
  public void write(DeviceTensor dst, long dstOffset, int[] src, int srcOffset, int length) {
    CudaTensor t = range(dst, DataType.I32, dstOffset, length);
    java.util.Objects.checkFromIndexSize(srcOffset, length, src.length);
    writeInts(t.pointer(dstOffset), src, srcOffset, length);
  }

  private void writeInts(CUdeviceptr target, int[] src, int srcOffset, int length) {
    long bytes = (long) length * Integer.BYTES;
    long staged = reserveStaging(bytes);
    if (staged >= 0) {
      stagingBuffer
          .slice((int) staged, (int) bytes)
          .order(ByteOrder.nativeOrder())
          .asIntBuffer()
          .put(src, srcOffset, length);
      JCudaDriver.cuMemcpyHtoDAsync(target, staging.withByteOffset(staged), bytes, stream);
    } else {
      JCudaDriver.cuMemcpyHtoD(
          target, Pointer.to(src).withByteOffset((long) srcOffset * Integer.BYTES), bytes);
    }
  }

  /**
   * Space in the pinned staging buffer for an asynchronous copy, or -1 when the copy is too large
   * for it. When the buffer is full, waits for the stream so that earlier copies out of it are
   * done.
   */
  private long reserveStaging(long bytes) {
    enter();
    if (bytes > STAGING_BYTES / 4) {
      return -1;
    }
    if (stagingUsed + bytes > STAGING_BYTES) {
      synchronize();
    }
    long at = stagingUsed;
    stagingUsed = (at + bytes + STAGING_ALIGN - 1) / STAGING_ALIGN * STAGING_ALIGN;
    return at;
  }

  private void synchronize() {
    JCudaDriver.cuStreamSynchronize(stream);
    stagingUsed = 0;
  }

  @Override
  public void read(DeviceTensor src, long srcOffset, float[] dst, int dstOffset, int length) {
    CudaTensor t = range(src, DataType.F32, srcOffset, length);
    java.util.Objects.checkFromIndexSize(dstOffset, length, dst.length);
    synchronize();
    JCudaDriver.cuMemcpyDtoH(
        Pointer.to(dst).withByteOffset((long) dstOffset * Float.BYTES),
        t.pointer(srcOffset),
        (long) length * Float.BYTES);
  }

  @Override
  public void read(DeviceTensor src, long srcOffset, int[] dst, int dstOffset, int length) {
    CudaTensor t = range(src, DataType.I32, srcOffset, length);
    java.util.Objects.checkFromIndexSize(dstOffset, length, dst.length);
    synchronize();
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
    kvCache().swapOut(gpuToCpu, stream);
  }

  @Override
  public void swapIn(List<BlockMapping> cpuToGpu) {
    enter();
    kvCache().swapIn(cpuToGpu, stream);
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
      cache.checkDeviceBlock(m.src());
      cache.checkDeviceBlock(m.dst());
      pairs[2 * i] = m.src();
      pairs[2 * i + 1] = m.dst();
    }
    enter();
    DevicePointer devicePairs = blockPairs.ensure((long) pairs.length * Integer.BYTES, stream);
    writeInts(devicePairs, pairs, 0, pairs.length);
    CudaKernels.launch(
        kernels.copyBlocks,
        srcToDst.size(),
        cache.numPools(),
        1,
        ELEMENTWISE_THREADS,
        0,
        stream,
        kernels
            .args()
            .ptr(cache.base())
            .ptr(devicePairs.address())
            .i64(cache.spec.blockElements())
            .i64((long) cache.spec.blockElements() * cache.spec.numBlocks()));
  }

  // ---- kernels

  private int gridFor(long count) {
    long blocks = (count + ELEMENTWISE_THREADS - 1) / ELEMENTWISE_THREADS;
    return (int) Math.max(1, Math.min(blocks, 32L * multiprocessors));
  }

  /** Threads for a row-per-block kernel: a multiple of 32 covering the row, at most 1024. */
  private static int rowThreads(int dim) {
    return Math.min(1024, Math.max(32, (dim + 31) / 32 * 32));
  }

  @Override
  public void embedding(
      DeviceTensor ids, int n, DeviceTensor table, int dim, float scale, DeviceTensor out) {
    CudaTensor idTensor = range(ids, DataType.I32, 0, n);
    CudaTensor tableTensor = own(table);
    CudaTensor outTensor = f32(out, (long) n * dim);
    enter();
    if (n == 0) {
      return;
    }
    CudaKernels.launch(
        kernels.embedding,
        n,
        1,
        1,
        Math.min(256, rowThreads(dim)),
        0,
        stream,
        kernels.args().ptr(idTensor).ptr(tableTensor).i32(dim).f32(scale).ptr(outTensor));
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
    if (n == 0 || outDim == 0) {
      return;
    }
    KernelArgs args = kernels.args().ptr(xt).ptr(wt).ptr(bt).ptr(yt).i32(n).i32(outDim).i32(inDim);
    if (settings.tf32() && n > GEMV_MAX_ROWS) {
      CudaKernels.launch(
          kernels.gemmTf32, ceilDiv(outDim, 64), ceilDiv(n, 64), 1, 128, 0, stream, args);
    } else if (n <= GEMV_MAX_ROWS) {
      CudaKernels.launch(
          kernels.gemv, ceilDiv(outDim, GEMV_WARPS), 1, 1, GEMV_WARPS * 32, 0, stream, args);
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
      var function =
          switch (tile) {
            case 128 -> kernels.gemm128;
            case 64 -> kernels.gemm64;
            default -> kernels.gemm32;
          };
      CudaKernels.launch(
          function, ceilDiv(outDim, tile), ceilDiv(n, tile), 1, 256, 0, stream, args);
    }
  }

  private static int ceilDiv(int a, int b) {
    return (a + b - 1) / b;
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
      jcuda.driver.CUfunction function,
      DeviceTensor a,
      DeviceTensor b,
      long count,
      DeviceTensor out) {
    CudaTensor at = f32(a, count);
    CudaTensor bt = f32(b, count);
    CudaTensor ot = f32(out, count);
    enter();
    if (count == 0) {
      return;
    }
    CudaKernels.launch(
        function,
        gridFor(count),
        1,
        1,
        ELEMENTWISE_THREADS,
        0,
        stream,
        kernels.args().ptr(at).ptr(bt).ptr(ot).i64(count));
  }

  @Override
  public void scale(DeviceTensor x, float factor, long count, DeviceTensor out) {
    CudaTensor xt = f32(x, count);
    CudaTensor ot = f32(out, count);
    enter();
    if (count == 0) {
      return;
    }
    CudaKernels.launch(
        kernels.scale,
        gridFor(count),
        1,
        1,
        ELEMENTWISE_THREADS,
        0,
        stream,
        kernels.args().ptr(xt).f32(factor).ptr(ot).i64(count));
  }

  @Override
  public void activation(Activation kind, DeviceTensor x, long count, DeviceTensor out) {
    requireNonNull(kind, "kind is null");
    CudaTensor xt = f32(x, count);
    CudaTensor ot = f32(out, count);
    enter();
    if (count == 0) {
      return;
    }
    // activation_f32 numbers the kinds in Activation's declaration order.
    CudaKernels.launch(
        kernels.activation,
        gridFor(count),
        1,
        1,
        ELEMENTWISE_THREADS,
        0,
        stream,
        kernels.args().i32(kind.ordinal()).ptr(xt).ptr(ot).i64(count));
  }

  @Override
  public void rmsNorm(
      DeviceTensor x, int n, int dim, DeviceTensor weight, float eps, DeviceTensor out) {
    CudaTensor xt = f32(x, (long) n * dim);
    CudaTensor wt = f32(weight, dim);
    CudaTensor ot = f32(out, (long) n * dim);
    enter();
    if (n == 0) {
      return;
    }
    CudaKernels.launch(
        kernels.rmsNorm,
        n,
        1,
        1,
        Math.min(256, rowThreads(dim)),
        0,
        stream,
        kernels.args().ptr(xt).i32(dim).ptr(wt).f32(eps).ptr(ot));
  }

  @Override
  public void layerNorm(
      DeviceTensor x,
      int n,
      int dim,
      DeviceTensor weight,
      DeviceTensor bias,
      float eps,
      DeviceTensor out) {
    CudaTensor xt = f32(x, (long) n * dim);
    CudaTensor wt = f32(weight, dim);
    CudaTensor bt = f32(bias, dim);
    CudaTensor ot = f32(out, (long) n * dim);
    enter();
    if (n == 0) {
      return;
    }
    CudaKernels.launch(
        kernels.layerNorm,
        n,
        1,
        1,
        Math.min(256, rowThreads(dim)),
        0,
        stream,
        kernels.args().ptr(xt).i32(dim).ptr(wt).ptr(bt).f32(eps).ptr(ot));
  }

  @Override
  public void argmax(DeviceTensor logits, int n, int vocab, DeviceTensor out) {
    CudaTensor lt = f32(logits, (long) n * vocab);
    CudaTensor ot = range(out, DataType.I32, 0, n);
    enter();
    if (n == 0) {
      return;
    }
    CudaKernels.launch(
        kernels.argmax,
        n,
        1,
        1,
        Math.min(512, rowThreads(vocab)),
        0,
        stream,
        kernels.args().ptr(lt).i32(vocab).ptr(ot));
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
    writeInts(buffer, md.packed, 0, md.packed.length);
    md.uploadedTo(buffer.address());
    metadata = md;
    return md;
  }

  /** A wrong slot or block number would make a kernel write outside the pool: refuse it here. */
  private static void validateCacheReferences(DeviceMetadata md, KvCacheSpec spec) {
    long slots = (long) spec.numBlocks() * spec.blockSize();
    AttentionMetadata m = md.source;
    if (m.blockSize() != spec.blockSize()) {
      throw new IllegalArgumentException(
          "metadata block size " + m.blockSize() + " != KV cache block size " + spec.blockSize());
    }
    checkSlots(m.slotMapping(), slots, "slotMapping");
    checkSlots(m.crossSlotMapping(), slots, "crossSlotMapping");
    for (int[][] tables : new int[][][] {m.blockTables(), m.crossBlockTables()}) {
      for (int[] table : tables) {
        for (int block : table) {
          if (block < 0 || block >= spec.numBlocks()) {
            throw new IllegalArgumentException(
                "block table entry "
                    + block
                    + " outside the cache's "
                    + spec.numBlocks()
                    + " blocks");
          }
        }
      }
    }
  }

  private static void checkSlots(int[] mapping, long slots, String name) {
    for (int slot : mapping) {
      if (slot >= slots) {
        throw new IllegalArgumentException(
            name + " entry " + slot + " outside the cache's " + slots + " slots");
      }
    }
  }

  /** For tests: PositionBias.bucket as the attention kernels compute it. */
  int[] bucketsOnDevice(int relStart, int count, PositionBias bias) {
    enter();
    DevicePointer buckets = new DevicePointer();
    JCudaDriver.cuMemAlloc(buckets, (long) count * Integer.BYTES);
    try {
      CudaKernels.launch(
          kernels.t5BucketTable,
          ceilDiv(count, 256),
          1,
          1,
          256,
          0,
          stream,
          kernels
              .args()
              .i32(relStart)
              .i32(count)
              .i32(bias.bidirectional() ? 1 : 0)
              .i32(bias.numBuckets())
              .i32(bias.maxDistance())
              .ptr(buckets.address()));
      int[] result = new int[count];
      synchronize();
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
    JCudaDriver.cuStreamSynchronize(stream);
    for (CudaTensor t : live) {
      JCudaDriver.cuMemFree(t.release());
    }
    live.clear();
    closeKvCache();
    metadataBuffer.close();
    blockPairs.close();
    JCudaDriver.cuMemFreeHost(staging);
    kernels.close();
    JCudaDriver.cuStreamDestroy(stream);
    closed = true;
    JCudaDriver.cuDevicePrimaryCtxRelease(device);
  }

  private void closeKvCache() {
    if (kvCache != null) {
      kvCache.close();
      kvCache = null;
    }
  }
}
