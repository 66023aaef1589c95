package dev.tandem.core.engine;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.KvCacheSpec;
import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.core.checkpoint.Checkpoint;
import dev.tandem.core.checkpoint.ConfigJson;
import dev.tandem.core.config.CacheConfig;
import dev.tandem.core.config.EngineConfig;
import dev.tandem.core.config.SchedulerConfig;
import dev.tandem.core.model.LoadedModel;
import dev.tandem.core.model.ModelLimits;
import dev.tandem.core.model.ModelLoader;
import dev.tandem.core.model.ModelSpec;
import dev.tandem.core.plugin.Plugins;
import dev.tandem.core.runner.ModelRunner;
import java.nio.file.Path;
import java.util.OptionalInt;

/**
 * Builds an {@link Engine} from an {@link EngineConfig}: chooses the backend and block manager,
 * loads the checkpoint, sizes and allocates the KV cache, and wires the scheduler budgets.
 */
final class EngineAssembly {

  private static final System.Logger LOG = System.getLogger(EngineAssembly.class.getName());

  /**
   * T5 has relative positions; its tokenizers cap inputs at 512 tokens, and so do we by default.
   */
  static final int DEFAULT_RELATIVE_MODEL_LEN = 512;

  private EngineAssembly() {}

  static Engine create(EngineConfig config, Plugins plugins) {
    var backendProvider = plugins.selectBackend(config.backend()).provider();
    var blockManagerProvider = plugins.selectBlockManager(config.blockManager()).provider();
    int modelLen = maxModelLen(config.model(), config.scheduler());
    SchedulerConfig scheduler = config.scheduler();
    int budget = scheduler.batchedTokenBudget(modelLen);
    int maxSeqs = Math.min(scheduler.maxNumSeqs(), budget);
    AttentionBackend backend = backendProvider.create(config.backendConfig());
    LoadedModel loaded = null;
    try {
      loaded = ModelLoader.load(config.model(), backend, new ModelLimits(budget, maxSeqs));
      ModelSpec spec = loaded.model().spec();
      CacheConfig cache = config.cache();
      long bytesPerBlock =
          KvCacheSpec.bytesPerBlock(
              spec.numDecoderLayers(), cache.blockSize(), spec.numHeads(), spec.headDim());
      int cpuBlocks = cache.swapSpace().blocks(bytesPerBlock);
      long swapBytes = cpuBlocks * bytesPerBlock;
      int gpuBlocks =
          cache
              .kvCache()
              .map(size -> size.blocks(bytesPerBlock))
              .orElseGet(
                  () -> {
                    // A closed engine's pools count as used on the heap until collected.
                    System.gc();
                    return ModelRunner.blocksThatFit(
                        (long)
                            (backend.freeMemoryBesideSwap(swapBytes)
                                * cache.gpuMemoryUtilization()),
                        spec,
                        cache.blockSize());
                  });
      if (gpuBlocks < 1) {
        throw new IllegalStateException(
            "the KV cache would hold no block of "
                + bytesPerBlock
                + " bytes beside a swap pool of "
                + (swapBytes >> 20)
                + " MiB: set num-kv-blocks or kv-cache-memory, lower swap-space, or free device"
                + " memory");
      }
      BlockManagerConfig blockConfig =
          new BlockManagerConfig(
              cache.blockSize(),
              gpuBlocks,
              cpuBlocks,
              cache.watermark(),
              cache.enablePrefixCaching());
      BlockSpaceManager blocks = blockManagerProvider.create(blockConfig);
      ModelRunner runner =
          new ModelRunner(loaded.model(), backend, cache.blockSize(), gpuBlocks, cpuBlocks);
      LOG.log(
          System.Logger.Level.INFO,
          "engine: {0} on {1}, block manager {2}, KV cache {3} blocks of {4} tokens"
              + " ({5} MiB), swap {6} blocks, max-model-len {7}, max-num-seqs {8},"
              + " max-num-batched-tokens {9}, num-scheduler-steps {10}",
          spec.architecture(),
          backend.deviceName(),
          blockManagerProvider.name(),
          gpuBlocks,
          cache.blockSize(),
          gpuBlocks * bytesPerBlock >> 20,
          cpuBlocks,
          modelLen,
          maxSeqs,
          budget,
          scheduler.numSchedulerSteps());
      return new Engine(
          new EngineParts(
              new ModelStepExecutor(runner, blocks, backend),
              blocks,
              blockConfig,
              loaded.tokenizer(),
              loaded.generationConfig(),
              modelLen,
              maxSeqs,
              budget,
              scheduler.preemption(),
              config.numThreads() > 0
                  ? config.numThreads()
                  : Runtime.getRuntime().availableProcessors(),
              scheduler.numSchedulerSteps()));
    } catch (RuntimeException | Error e) {
      if (loaded != null) {
        loaded.close();
      }
      backend.close();
      throw e;
    }
  }

  /**
   * max-model-len if set, capped by the model's learned positions ({@code
   * max_position_embeddings}); T5 (relative positions) uses {@code n_positions} or 512.
   */
  static int maxModelLen(Path modelDir, SchedulerConfig scheduler) {
    OptionalInt modelMax;
    try (Checkpoint checkpoint = Checkpoint.open(modelDir)) {
      ConfigJson json = checkpoint.config();
      modelMax = json.optInt("max_position_embeddings");
      if (modelMax.isEmpty()) {
        modelMax = OptionalInt.of(json.optInt("n_positions").orElse(DEFAULT_RELATIVE_MODEL_LEN));
        if (scheduler.maxModelLen().isPresent()) {
          return scheduler.maxModelLen().getAsInt(); // relative positions: no hard limit
        }
      }
    }
    int limit = modelMax.getAsInt();
    if (scheduler.maxModelLen().isPresent() && scheduler.maxModelLen().getAsInt() > limit) {
      throw new IllegalArgumentException(
          "max-model-len="
              + scheduler.maxModelLen().getAsInt()
              + " exceeds the model's max_position_embeddings="
              + limit);
    }
    return scheduler.maxModelLen().orElse(limit);
  }
}
