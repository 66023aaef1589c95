package dev.tandem.backend.opencl;

import com.aparapi.Kernel;

/**
 * The state of the backend's one Aparapi kernel ({@link DeviceKernel}, which holds the code): the
 * op codes, the device-resident arrays and the queued ops' arguments. Aparapi gives each Kernel
 * instance its own OpenCL context, so all device-resident state lives in this one object: the F32
 * arena {@link #mem} (weights and activations), the I32 arena {@link #ints}, the K and V cache
 * pools, attention metadata and the staging buffers host transfers go through. The kernel runs in
 * explicit mode: arrays are put once when they are created and read back only through the staging
 * buffers.
 *
 * <p>Ops run as the passes of one Aparapi {@code execute(range, passes)}: pass i runs op {@code
 * passes[i · PASS_INTS + ARG_OP]} with the arguments beside it (and {@code passFactors[i]}), every
 * work-item looping over the op's items with the global size as stride. Aparapi enqueues the passes
 * back to back after one round of argument handling, waiting for each before the next (so each sees
 * the previous one's writes): a pass skips Aparapi's per-launch work (on PoCL 34–36 µs a small op
 * against 50–53 launched alone; on a GPU not yet measured). {@link DeviceOps} queues the passes and
 * runs them when the host needs a result or changes an array.
 */
abstract class DeviceState extends Kernel {

  static final int OP_PROBE = 0;
  static final int OP_STAGE_IN = 1;
  static final int OP_STAGE_OUT = 2;
  static final int OP_STAGE_IN_INT = 3;
  static final int OP_STAGE_OUT_INT = 4;
  static final int OP_FILL = 5;
  static final int OP_FILL_INT = 6;
  static final int OP_EMBEDDING = 7;
  static final int OP_GEMM_4X4 = 8;
  static final int OP_GEMM_1X4 = 9;
  static final int OP_ADD = 10;
  static final int OP_MULTIPLY = 11;
  static final int OP_SCALE = 12;
  static final int OP_ACTIVATION = 13;
  static final int OP_RMS_NORM = 14;
  static final int OP_LAYER_NORM = 15;
  static final int OP_GREEDY_MERGE = 16;
  static final int OP_CACHE_WRITE = 17;
  static final int OP_ATTENTION = 18;
  static final int OP_BLOCKS_OUT = 19;
  static final int OP_BLOCKS_IN = 20;
  static final int OP_COPY_BLOCKS = 21;
  static final int OP_TRANSPOSE = 22;
  static final int OP_GEMM_STRIPS = 23;
  static final int OP_GREEDY_PARTS = 24;
  static final int OP_SAMPLE = 25;
  static final int OP_GEMM_LOCAL = 26;
  static final int OP_ATTENTION_GROUPS = 27;

  /** Whether op reads {@link #meta} (attention plans, slot mappings). */
  static boolean readsMeta(int op) {
    return op == OP_ATTENTION || op == OP_ATTENTION_GROUPS || op == OP_CACHE_WRITE;
  }

  /** Columns of y a work-item of {@link #OP_GEMM_STRIPS} owns. */
  static final int STRIP = 64;

  static final int ACT_RELU = 0;
  static final int ACT_GELU = 1;
  static final int ACT_GELU_TANH = 2;
  static final int ACT_SILU = 3;

  /** Header of an attention plan in {@link #meta}, written by {@link AttentionPlans}. */
  static final int PLAN_QUERIES = 0;

  static final int PLAN_PAGED = 1;
  static final int PLAN_CAUSAL = 2;
  static final int PLAN_BLOCK_SIZE = 3;
  static final int PLAN_QUERY_SEQUENCE = 4;
  static final int PLAN_QUERY_POSITION = 5;
  static final int PLAN_KEY_START = 6;
  static final int PLAN_KEY_COUNT = 7;
  static final int PLAN_BUCKETS = 8;
  static final int PLAN_MAX_KEYS = 9;
  static final int PLAN_HEADER = 10;

  /** Layout of one pass in {@link #passes}: the op, its item count and its arguments. */
  static final int ARG_OP = 0;

  static final int ARG_COUNT = 1;
  static final int ARG_OUT = 2;
  static final int ARG_IN0 = 3;
  static final int ARG_IN1 = 4;
  static final int ARG_IN2 = 5;
  static final int ARG_ROWS = 6;
  static final int ARG_COLS = 7;
  static final int ARG_INNER = 8;
  static final int ARG_MODE = 9;
  static final int PASS_INTS = 10;

  // ---- device-resident arrays (never null: Aparapi binds every array field the code uses)

  /** F32 arena: every F32 tensor is a range of it. */
  float[] mem = new float[1];

  /** I32 arena: every I32 tensor is a range of it. */
  int[] ints = new int[1];

  /** K cache: (layer, numBlocks, blockSize, numHeads, headDim). */
  float[] kPool = new float[1];

  /** V cache, as {@link #kPool}. */
  float[] vPool = new float[1];

  /** Attention plans and slot mappings of the current step. */
  int[] meta = new int[1];

  /** Host ↔ device staging for small float transfers; fixed size. */
  float[] stage = new float[1];

  /** Staging for large float transfers (logits, weights, swapped blocks); grows. */
  float[] bigStage = new float[1];

  /** Staging for int transfers and block lists. */
  int[] intStage = new int[1];

  /** The queued ops, {@link #PASS_INTS} ints each; put before every execute. */
  int[] passes = new int[PASS_INTS];

  /** The float argument of each queued op. */
  float[] passFactors = new float[1];
}
