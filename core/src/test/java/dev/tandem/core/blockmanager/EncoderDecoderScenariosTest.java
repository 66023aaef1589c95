package dev.tandem.core.blockmanager;

import static dev.tandem.core.blockmanager.TestGroups.encoderDecoder;
import static dev.tandem.core.blockmanager.TestGroups.encoderDecoderWithOutputs;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.block.AllocStatus;
import dev.tandem.api.block.BlockMapping;
import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.sequence.SequenceGroup;
import dev.tandem.api.sequence.SequenceStatus;
import dev.tandem.core.blockmanager.TestGroups.EncoderDecoder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * vLLM's encoder/decoder block manager tests (tests/core/test_block_manager.py and
 * tests/core/block/test_block_manager_v2.py, the functions with "encoder_decoder" in their name),
 * ported and run against every available block manager.
 */
class EncoderDecoderScenariosTest {

  private static final int BLOCK_SIZE = 4;
  private static final int NUM_GPU_BLOCKS = 4;
  private static final int NUM_CPU_BLOCKS = 4;

  @Test
  void v1IsAmongTheAvailableBlockManagers() {
    assertTrue(
        BlockManagers.names().anyMatch("v1"::equals),
        () -> "available: " + BlockManagers.names().toList());
  }

  @ParameterizedTest
  @MethodSource("dev.tandem.core.blockmanager.BlockManagers#names")
  void twoGroupsFitInFourBlocksAndAThirdDoesNot(String name) {
    BlockSpaceManager manager =
        BlockManagers.create(name, BLOCK_SIZE, NUM_GPU_BLOCKS, NUM_CPU_BLOCKS, 0);
    int blocksPerGroup = 2; // one decoder prompt block + one cross block
    for (int i = 0; i < NUM_GPU_BLOCKS / blocksPerGroup; i++) {
      SequenceGroup group = encoderDecoder(String.valueOf(i), i, BLOCK_SIZE, BLOCK_SIZE).group();
      assertEquals(AllocStatus.OK, manager.canAllocate(group));
      manager.allocate(group);
    }
    SequenceGroup third = encoderDecoder("third", 99, BLOCK_SIZE, BLOCK_SIZE).group();
    assertNotEquals(AllocStatus.OK, manager.canAllocate(third));
    assertEquals(0, manager.numFreeGpuBlocks());
    manager.checkInvariants();
  }

  @ParameterizedTest
  @MethodSource("dev.tandem.core.blockmanager.BlockManagers#names")
  void watermarkOfAQuarterLetsOnlyOneGroupIn(String name) {
    BlockSpaceManager manager =
        BlockManagers.create(name, BLOCK_SIZE, NUM_GPU_BLOCKS, NUM_CPU_BLOCKS, 1.0 / 4);
    SequenceGroup first = encoderDecoder("0", 0, BLOCK_SIZE, BLOCK_SIZE).group();
    assertEquals(AllocStatus.OK, manager.canAllocate(first));
    manager.allocate(first);
    SequenceGroup second = encoderDecoder("1", 1, BLOCK_SIZE, BLOCK_SIZE).group();
    assertNotEquals(AllocStatus.OK, manager.canAllocate(second));
    manager.checkInvariants();
  }

  static Stream<Arguments> canAllocateGrid() {
    List<Arguments> grid = new ArrayList<>();
    for (String name : BlockManagers.names().toList()) {
      for (int numGpuBlocks : new int[] {16, 80, 160}) {
        for (int numSeqsPerGroup : new int[] {1, 4}) {
          for (double watermark : new double[] {0.0, 0.5}) {
            grid.add(Arguments.of(name, numGpuBlocks, numSeqsPerGroup, watermark));
          }
        }
      }
    }
    return grid.stream();
  }

  /**
   * vLLM's test_can_allocate_seq_group_encoder_decoder: sequences preempted by recompute carry
   * output tokens, so a group needs prompt + output + cross blocks; then the same sweep again with
   * half the pool taken, where LATER appears.
   */
  @ParameterizedTest
  @MethodSource("canAllocateGrid")
  void canAllocateIsNeverOkOrLaterAsTheWatermarkRuleSays(
      String name, int numGpuBlocks, int numSeqsPerGroup, double watermark) {
    int blockSize = 16;
    BlockSpaceManager manager =
        BlockManagers.create(name, blockSize, numGpuBlocks, 1024, watermark);
    int watermarkBlocks = (int) (watermark * numGpuBlocks);
    int outputBlocks = 1;
    int[] outputLengths = new int[numSeqsPerGroup];
    Arrays.fill(outputLengths, blockSize * outputBlocks);
    for (int pass = 0; pass < 2; pass++) {
      int free = manager.numFreeGpuBlocks();
      for (int promptBlocks = 1; promptBlocks < numGpuBlocks - outputBlocks; promptBlocks++) {
        SequenceGroup group =
            encoderDecoderWithOutputs(
                "r" + pass + "-" + promptBlocks, 0, blockSize * promptBlocks, outputLengths);
        int needed = promptBlocks + outputBlocks + promptBlocks; // decoder + cross
        AllocStatus expected;
        if (numGpuBlocks - needed < watermarkBlocks) {
          expected = AllocStatus.NEVER;
        } else if (free - needed >= watermarkBlocks) {
          expected = AllocStatus.OK;
        } else {
          expected = AllocStatus.LATER;
        }
        assertEquals(expected, manager.canAllocate(group), "prompt blocks " + promptBlocks);
      }
      if (pass == 0) {
        // Take half the pool with a decoder-only request for the second pass.
        manager.allocate(
            TestGroups.decoderOnly("filler", 1000, blockSize * (numGpuBlocks / 2)).group());
        assertEquals(numGpuBlocks - numGpuBlocks / 2, manager.numFreeGpuBlocks());
      }
    }
    manager.checkInvariants();
  }

  @ParameterizedTest
  @MethodSource("dev.tandem.core.blockmanager.BlockManagers#names")
  void swapMovesDecoderAndCrossBlocksBothWays(String name) {
    BlockSpaceManager manager =
        BlockManagers.create(name, BLOCK_SIZE, NUM_GPU_BLOCKS, NUM_CPU_BLOCKS, 0);
    EncoderDecoder request = encoderDecoder("1", 1, BLOCK_SIZE, BLOCK_SIZE);
    manager.allocate(request.group());
    // Emulate a forward pass: the decoder sequence runs and has one more token.
    request.decoder().setStatus(SequenceStatus.RUNNING);
    request.decoder().appendToken(0, 0);

    int[] gpuDecoder = manager.getBlockTable(request.decoder());
    int[] gpuCross = manager.getCrossBlockTable(request.group());
    assertTrue(manager.canSwapOut(request.group()));
    int cpuBefore = manager.numFreeCpuBlocks();
    int gpuBefore = manager.numFreeGpuBlocks();
    List<BlockMapping> out = manager.swapOut(request.group());
    request.decoder().setStatus(SequenceStatus.SWAPPED);
    int[] cpuDecoder = manager.getBlockTable(request.decoder());
    int[] cpuCross = manager.getCrossBlockTable(request.group());
    assertMappingMoves(out, gpuDecoder, gpuCross, cpuDecoder, cpuCross);
    int moved = gpuDecoder.length + gpuCross.length;
    assertEquals(cpuBefore - moved, manager.numFreeCpuBlocks());
    assertEquals(gpuBefore + moved, manager.numFreeGpuBlocks());
    manager.checkInvariants();

    assertEquals(AllocStatus.OK, manager.canSwapIn(request.group(), 0));
    cpuBefore = manager.numFreeCpuBlocks();
    gpuBefore = manager.numFreeGpuBlocks();
    List<BlockMapping> in = manager.swapIn(request.group());
    request.decoder().setStatus(SequenceStatus.RUNNING);
    assertMappingMoves(
        in,
        cpuDecoder,
        cpuCross,
        manager.getBlockTable(request.decoder()),
        manager.getCrossBlockTable(request.group()));
    assertEquals(cpuBefore + moved, manager.numFreeCpuBlocks());
    assertEquals(gpuBefore - moved, manager.numFreeGpuBlocks());
    manager.checkInvariants();
  }

  /**
   * The mapping's sources are exactly the old decoder + cross blocks, each mapped to the block at
   * the same position of the new tables, and no block is copied twice.
   */
  static void assertMappingMoves(
      List<BlockMapping> mapping,
      int[] oldDecoder,
      int[] oldCross,
      int[] newDecoder,
      int[] newCross) {
    Map<Integer, Integer> bySource = new HashMap<>();
    Set<Integer> targets = new HashSet<>();
    for (BlockMapping m : mapping) {
      assertEquals(null, bySource.put(m.src(), m.dst()), "block " + m.src() + " copied twice");
      assertTrue(targets.add(m.dst()), "two blocks copied into " + m.dst());
    }
    Set<Integer> expectedSources = new HashSet<>();
    IntStream.of(oldDecoder).forEach(expectedSources::add);
    IntStream.of(oldCross).forEach(expectedSources::add);
    assertEquals(expectedSources, bySource.keySet(), "the mapping covers decoder and cross blocks");
    assertArrayEquals(IntStream.of(oldDecoder).map(bySource::get).toArray(), newDecoder);
    assertArrayEquals(IntStream.of(oldCross).map(bySource::get).toArray(), newCross);
  }

  @ParameterizedTest
  @MethodSource("dev.tandem.core.blockmanager.BlockManagers#names")
  void freeAndFreeCrossReturnEveryBlock(String name) {
    BlockSpaceManager manager =
        BlockManagers.create(name, BLOCK_SIZE, NUM_GPU_BLOCKS, NUM_CPU_BLOCKS, 0);
    EncoderDecoder request = encoderDecoder("1", 1, BLOCK_SIZE, BLOCK_SIZE);
    manager.allocate(request.group());
    int held =
        manager.getBlockTable(request.decoder()).length
            + manager.getCrossBlockTable(request.group()).length;
    assertEquals(2, held);
    int before = manager.numFreeGpuBlocks();
    manager.free(request.decoder());
    manager.freeCross(request.group());
    assertEquals(before + held, manager.numFreeGpuBlocks());
    assertEquals(NUM_GPU_BLOCKS, manager.numFreeGpuBlocks());
    assertThrows(IllegalArgumentException.class, () -> manager.getBlockTable(request.decoder()));
    assertThrows(IllegalArgumentException.class, () -> manager.getBlockTable(request.encoder()));
    assertThrows(IllegalArgumentException.class, () -> manager.getCrossBlockTable(request.group()));
    manager.checkInvariants();
  }

  @ParameterizedTest
  @MethodSource("dev.tandem.core.blockmanager.BlockManagers#names")
  void resetFreesEveryBlockOfBothPools(String name) {
    BlockSpaceManager manager =
        BlockManagers.create(name, BLOCK_SIZE, NUM_GPU_BLOCKS, NUM_CPU_BLOCKS, 0);
    List<EncoderDecoder> requests = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      EncoderDecoder request = encoderDecoder(String.valueOf(i), i, BLOCK_SIZE, BLOCK_SIZE);
      manager.allocate(request.group());
      requests.add(request);
    }
    assertEquals(0, manager.numFreeGpuBlocks());
    // One group swapped out, so that the CPU pool has blocks in use too.
    requests.getFirst().decoder().setStatus(SequenceStatus.RUNNING);
    manager.swapOut(requests.getFirst().group());
    assertEquals(NUM_CPU_BLOCKS - 2, manager.numFreeCpuBlocks());

    manager.reset();
    assertEquals(NUM_GPU_BLOCKS, manager.numFreeGpuBlocks());
    assertEquals(NUM_CPU_BLOCKS, manager.numFreeCpuBlocks());
    for (EncoderDecoder request : requests) {
      assertThrows(IllegalArgumentException.class, () -> manager.getBlockTable(request.decoder()));
      assertThrows(
          IllegalArgumentException.class, () -> manager.getCrossBlockTable(request.group()));
    }
    manager.checkInvariants();
  }
}
