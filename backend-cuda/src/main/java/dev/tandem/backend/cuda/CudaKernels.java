package dev.tandem.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import jcuda.Pointer;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/**
 * The kernel modules, loaded into the current context from the PTX or fatbin resources that
 * scripts/build-cuda-kernels.sh builds from src/main/cuda, and the functions in them.
 */
final class CudaKernels implements AutoCloseable {

  /** Which image of each module to load. */
  enum Image {
    /** SASS for sm_80 / sm_90 plus compute_75 PTX; the driver picks the best match. */
    FATBIN("fatbin"),
    /** compute_75 PTX only, JIT-compiled by the driver. */
    PTX("ptx");

    final String extension;

    Image(String extension) {
      this.extension = extension;
    }
  }

  private static final String RESOURCE_DIR = "/dev/tandem/backend/cuda/kernels/";

  private final List<CUmodule> modules = new ArrayList<>();
  private final KernelArgs args = new KernelArgs();
  final Image image;

  // elementwise.cu
  final CUfunction add;
  final CUfunction multiply;
  final CUfunction scale;
  final CUfunction activation;
  final CUfunction embedding;
  // reduce.cu
  final CUfunction rmsNorm;
  final CUfunction layerNorm;
  final CUfunction greedy;
  final CUfunction addRmsNorm;
  final CUfunction addLayerNorm;
  // sample.cu
  final CUfunction sample;
  // gemm.cu
  final CUfunction gemv;
  final Tiles plainTiles;
  final Tiles stagedTiles;
  final CUfunction gemmTf32;
  final CUfunction splitKReduce;
  // attention.cu
  final CUfunction prefillAttention;
  final CUfunction pagedDecodeAttention;
  final CUfunction pagedDecodeAttention64;
  final CUfunction pagedDecodeAttention128;
  final CUfunction t5BucketTable;
  // cache.cu
  final CUfunction writeKv;
  final CUfunction copyBlocks;

  private CudaKernels(Image image) {
    this.image = image;
    CUmodule elementwise = module("elementwise");
    add = function(elementwise, "add_f32");
    multiply = function(elementwise, "multiply_f32");
    scale = function(elementwise, "scale_f32");
    activation = function(elementwise, "activation_f32");
    embedding = function(elementwise, "embedding_f32");
    CUmodule reduce = module("reduce");
    rmsNorm = function(reduce, "rms_norm_f32");
    layerNorm = function(reduce, "layer_norm_f32");
    greedy = function(reduce, "greedy_f32");
    addRmsNorm = function(reduce, "add_rms_norm_f32");
    addLayerNorm = function(reduce, "add_layer_norm_f32");
    sample = function(module("sample"), "sample_f32");
    CUmodule gemm = module("gemm");
    gemv = function(gemm, "gemv_nt");
    plainTiles = tiles(gemm, "");
    stagedTiles = tiles(gemm, "_staged");
    gemmTf32 = function(gemm, "gemm_nt_tf32");
    splitKReduce = function(gemm, "splitk_reduce");
    CUmodule attention = module("attention");
    prefillAttention = function(attention, "prefill_attention");
    pagedDecodeAttention = function(attention, "paged_decode_attention");
    pagedDecodeAttention64 = function(attention, "paged_decode_attention_64");
    pagedDecodeAttention128 = function(attention, "paged_decode_attention_128");
    t5BucketTable = function(attention, "t5_bucket_table");
    CUmodule cache = module("cache");
    writeKv = function(cache, "write_kv");
    copyBlocks = function(cache, "copy_blocks");
  }

  /**
   * One set of the tiled SGEMM kernels (gemm.cu): {@code plain} fetches a tile's operands after the
   * previous tile's arithmetic, {@code staged} before it (option cuda.gemm).
   */
  record Tiles(CUfunction gemm128, CUfunction gemm64, CUfunction gemm32, CUfunction gemm64SplitK) {}

  private Tiles tiles(CUmodule gemm, String suffix) {
    return new Tiles(
        function(gemm, "gemm_nt_128x128" + suffix),
        function(gemm, "gemm_nt_64x64" + suffix),
        function(gemm, "gemm_nt_32x32" + suffix),
        function(gemm, "gemm_nt_64x64_splitk" + suffix));
  }

  /** Loads every module into the current context; unloads what was loaded if one fails. */
  static CudaKernels load(Image image) {
    return new CudaKernels(image);
  }

  private CUmodule module(String name) {
    byte[] bytes = resource(name + "." + image.extension);
    if (image == Image.PTX) {
      bytes = Arrays.copyOf(bytes, bytes.length + 1); // the driver reads PTX as a C string
    }
    CUmodule module = new CUmodule();
    try {
      JCudaDriver.cuModuleLoadData(module, bytes);
    } catch (RuntimeException e) {
      close();
      throw new IllegalStateException(
          "cannot load kernel module " + name + "." + image.extension + ": " + e.getMessage(), e);
    }
    modules.add(module);
    return module;
  }

  private static CUfunction function(CUmodule module, String name) {
    CUfunction function = new CUfunction();
    JCudaDriver.cuModuleGetFunction(function, module, name);
    return function;
  }

  private static byte[] resource(String name) {
    try (InputStream in = CudaKernels.class.getResourceAsStream(RESOURCE_DIR + name)) {
      if (in == null) {
        throw new IllegalStateException(
            "kernel image " + RESOURCE_DIR + name + " missing from the backend-cuda jar");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read kernel image " + name, e);
    }
  }

  /** The reused parameter list, emptied: fill it, then pass it to {@link #launch}. */
  KernelArgs args() {
    return args.reset();
  }

  /** Launches a kernel on the stream with a 1-D block; args from {@link KernelArgs}. */
  static void launch(
      CUfunction function,
      int gridX,
      int gridY,
      int gridZ,
      int blockThreads,
      int sharedBytes,
      CUstream stream,
      KernelArgs args) {
    JCudaDriver.cuLaunchKernel(
        function,
        gridX,
        gridY,
        gridZ,
        blockThreads,
        1,
        1,
        sharedBytes,
        stream,
        args.pointer(),
        (Pointer) null);
  }

  @Override
  public void close() {
    for (CUmodule module : modules) {
      JCudaDriver.cuModuleUnload(module);
    }
    modules.clear();
  }
}
