package dev.tandem.core.blockmanager;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Random scheduler-like operations against every available block manager, with and without prefix
 * caching, checked against {@link BlockManagerModel} after every operation. Seeded: a failure names
 * its seed; rerun it with {@code -Dtandem.seed=<seed>} (and {@code
 * -Dtandem.blockmanager.operations=<n>} to change the run length).
 */
class RandomizedBlockManagerTest {

  private static final int OPERATIONS =
      Integer.getInteger("tandem.blockmanager.operations", 100_000);

  static Stream<Arguments> managersWithAndWithoutPrefixCaching() {
    List<Arguments> arguments = new ArrayList<>();
    for (String name : BlockManagers.names().toList()) {
      arguments.add(Arguments.of(name, false));
      arguments.add(Arguments.of(name, true));
    }
    return arguments.stream();
  }

  @ParameterizedTest(name = "{0}, prefix caching {1}")
  @MethodSource("managersWithAndWithoutPrefixCaching")
  void randomOperationsAgreeWithTheModel(String name, boolean prefixCaching) {
    Long fixedSeed = Long.getLong("tandem.seed");
    long seed = fixedSeed != null ? fixedSeed : System.nanoTime();
    BlockManagerModel model = new BlockManagerModel(name, prefixCaching, seed);
    try {
      model.run(OPERATIONS);
      // A run that never swapped, forked or copied on write would prove little: with the model's
      // small pools each of these happens hundreds of times in 100,000 operations.
      for (BlockManagerModel.Event event : BlockManagerModel.Event.values()) {
        if (event == BlockManagerModel.Event.EMPTY_ENCODER_INPUT
            && !model.encoderDecoderAllowed()) {
          continue;
        }
        int count = model.events().getOrDefault(event, 0);
        assertTrue(
            count >= OPERATIONS / 10_000,
            () -> event + " happened " + count + " times; all events: " + model.events());
      }
      if (prefixCaching) {
        assertTrue(model.gpuPrefixCacheHitRate() > 0, "prompts share prefixes: some must hit");
      }
    } catch (Throwable t) {
      throw new AssertionError(
          "block manager "
              + name
              + (prefixCaching ? " with" : " without")
              + " prefix caching failed at operation "
              + model.operationCount()
              + " ("
              + model.lastOperation()
              + ") with seed "
              + seed
              + "; rerun with -Dtandem.seed="
              + seed,
          t);
    }
  }
}
