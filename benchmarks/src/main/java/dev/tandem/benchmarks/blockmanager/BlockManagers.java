package dev.tandem.benchmarks.blockmanager;

import dev.tandem.api.block.BlockManagerConfig;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.block.BlockSpaceManagerProvider;
import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceGroup;
import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/** Finds block managers by name for the benchmarks, and makes their requests. */
final class BlockManagers {

  private BlockManagers() {}

  /**
   * The available provider of that name.
   *
   * @throws IllegalArgumentException naming the available managers if there is none
   */
  static BlockSpaceManager create(String name, BlockManagerConfig config) {
    List<BlockSpaceManagerProvider> available =
        ServiceLoader.load(BlockSpaceManagerProvider.class).stream()
            .map(ServiceLoader.Provider::get)
            .filter(p -> p.availability().available())
            .toList();
    return available.stream()
        .filter(p -> p.name().equals(name))
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "block manager "
                        + name
                        + " is not available; available: "
                        + available.stream()
                            .map(BlockSpaceManagerProvider::name)
                            .collect(Collectors.joining(", "))))
        .create(config);
  }

  /** An encoder/decoder request with one decoder sequence, tokens 1, 2, 3, ... */
  static SequenceGroup request(String requestId, long seqId, int promptLength, int encoderLength) {
    Sequence decoder = new Sequence(seqId, tokens(promptLength));
    Sequence encoder = new Sequence(seqId, tokens(encoderLength));
    return new SequenceGroup(requestId, encoder, List.of(decoder), 0, SamplingParams.greedy());
  }

  private static int[] tokens(int length) {
    int[] tokens = new int[length];
    for (int i = 0; i < length; i++) {
      tokens[i] = i + 1;
    }
    return tokens;
  }
}
