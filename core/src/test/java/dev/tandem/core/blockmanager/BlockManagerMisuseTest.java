package dev.tandem.core.blockmanager;

import static dev.tandem.core.blockmanager.TestGroups.decoderOnly;
import static dev.tandem.core.blockmanager.TestGroups.encoderDecoder;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceStatus;
import dev.tandem.core.blockmanager.TestGroups.DecoderOnly;
import dev.tandem.core.blockmanager.TestGroups.EncoderDecoder;
import java.util.List;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every misuse is a clear exception naming the offending id, and leaves the manager as it was: same
 * free counts, invariants intact.
 */
class BlockManagerMisuseTest {

  private static final int BLOCK_SIZE = 4;
  private static final int NUM_BLOCKS = 8;

  private static BlockSpaceManager manager(String name) {
    return BlockManagers.create(name, BLOCK_SIZE, NUM_BLOCKS, NUM_BLOCKS, 0);
  }

  /**
   * Runs the misuse and checks the exception, that its message names {@code id} (or one of the
   * {@code otherIds}, e.g. the sequence when a request is misused), and that nothing changed.
   */
  private static void assertRejected(
      BlockSpaceManager manager, String id, Executable misuse, String... otherIds) {
    int gpu = manager.numFreeGpuBlocks();
    int cpu = manager.numFreeCpuBlocks();
    RuntimeException e = assertThrows(RuntimeException.class, misuse);
    assertTrue(
        e instanceof IllegalArgumentException || e instanceof IllegalStateException,
        "expected IllegalArgumentException or IllegalStateException, got " + e);
    String message = String.valueOf(e.getMessage());
    boolean named = message.contains(id);
    for (String other : otherIds) {
      named |= message.contains(other);
    }
    assertTrue(named, "the message must name " + id + ": " + message);
    assertEquals(gpu, manager.numFreeGpuBlocks(), "GPU pool changed by a rejected call");
    assertEquals(cpu, manager.numFreeCpuBlocks(), "CPU pool changed by a rejected call");
    manager.checkInvariants();
  }

  @ParameterizedTest
  @MethodSource("dev.tandem.core.blockmanager.BlockManagers#names")
  void unknownSequenceIsRejectedByEveryOperation(String name) {
    BlockSpaceManager manager = manager(name);
    manager.allocate(encoderDecoder("known", 1, 3, 3).group());
    Sequence unknown = new Sequence(4242, new int[] {1, 2, 3});
    unknown.setStatus(SequenceStatus.RUNNING);
    Sequence child = new Sequence(4343, new int[] {1, 2, 3});
    assertRejected(manager, "4242", () -> manager.getBlockTable(unknown));
    assertRejected(manager, "4242", () -> manager.free(unknown));
    assertRejected(manager, "4242", () -> manager.appendSlots(unknown, 0));
    assertRejected(manager, "4242", () -> manager.fork(unknown, child));
    assertRejected(manager, "4242", () -> manager.accessAllBlocksInSeq(unknown, 1));
    assertRejected(
        manager,
        "4242",
        () -> manager.canAppendSlots(TestGroups.group("u", null, List.of(unknown)), 0));
  }

  @ParameterizedTest
  @MethodSource("dev.tandem.core.blockmanager.BlockManagers#names")
  void unknownRequestIdIsRejected(String name) {
    BlockSpaceManager manager = manager(name);
    EncoderDecoder never = encoderDecoder("never-allocated", 7, 3, 3);
    assertRejected(manager, "never-allocated", () -> manager.getCrossBlockTable(never.group()));
    assertRejected(manager, "never-allocated", () -> manager.freeCross(never.group()));
    DecoderOnly decoderOnly = decoderOnly("decoder-only", 8, 3);
    manager.allocate(decoderOnly.group());
    assertRejected(manager, "decoder-only", () -> manager.getCrossBlockTable(decoderOnly.group()));
  }

  @ParameterizedTest
  @MethodSource("dev.tandem.core.blockmanager.BlockManagers#names")
  void freeCrossOfADecoderOnlyGroupDoesNothing(String name) {
    BlockSpaceManager manager = manager(name);
    DecoderOnly request = decoderOnly("decoder-only", 8, 3);
    manager.allocate(request.group());
    int free = manager.numFreeGpuBlocks();
    manager.freeCross(request.group());
    assertEquals(free, manager.numFreeGpuBlocks());
    manager.checkInvariants();
  }

  @ParameterizedTest
  @MethodSource("dev.tandem.core.blockmanager.BlockManagers#names")
  void doubleFreeIsRejected(String name) {
    BlockSpaceManager manager = manager(name);
    EncoderDecoder request = encoderDecoder("twice", 31, 5, 5);
    manager.allocate(request.group());
    manager.free(request.decoder());
    manager.freeCross(request.group());
    assertRejected(manager, "31", () -> manager.free(request.decoder()));
    assertRejected(manager, "twice", () -> manager.freeCross(request.group()));
    assertEquals(NUM_BLOCKS, manager.numFreeGpuBlocks());
  }

  @ParameterizedTest
  @MethodSource("dev.tandem.core.blockmanager.BlockManagers#names")
  void allocatingARequestThatHasTablesIsRejected(String name) {
    BlockSpaceManager manager = manager(name);
    EncoderDecoder request = encoderDecoder("dup", 11, 3, 3);
    manager.allocate(request.group());
    assertRejected(manager, "11", () -> manager.allocate(request.group()));
    // The decoder table freed but the cross table kept (vLLM's recompute bug): still rejected.
    manager.free(request.decoder());
    assertRejected(manager, "dup", () -> manager.allocate(request.group()));
    // A fork into a sequence that has a table is rejected too.
    EncoderDecoder other = encoderDecoder("other", 12, 3, 3);
    manager.allocate(other.group());
    EncoderDecoder third = encoderDecoder("third", 13, 3, 3);
    manager.allocate(third.group());
    assertRejected(manager, "13", () -> manager.fork(other.decoder(), third.decoder()));
  }

  @ParameterizedTest
  @MethodSource("dev.tandem.core.blockmanager.BlockManagers#names")
  void swappingAGroupInTheWrongStateIsRejected(String name) {
    BlockSpaceManager manager = manager(name);
    EncoderDecoder request = encoderDecoder("swap", 21, 5, 5);
    manager.allocate(request.group());
    // Still WAITING: nothing is running, nothing is swapped.
    assertRejected(manager, "swap", () -> manager.swapOut(request.group()));
    assertRejected(manager, "swap", () -> manager.swapIn(request.group()));

    request.decoder().setStatus(SequenceStatus.RUNNING);
    // Running on the GPU: swapping in is wrong even if the status claims SWAPPED.
    request.decoder().setStatus(SequenceStatus.SWAPPED);
    assertRejected(manager, "swap", () -> manager.swapIn(request.group()), "21");
    request.decoder().setStatus(SequenceStatus.RUNNING);
    manager.swapOut(request.group());
    // Swapped out, but the status claims RUNNING: swapping out again is wrong.
    assertRejected(manager, "swap", () -> manager.swapOut(request.group()), "21");
    assertRejected(manager, "21", () -> manager.appendSlots(request.decoder(), 0));
    request.decoder().setStatus(SequenceStatus.SWAPPED);
    manager.swapIn(request.group());
    request.decoder().setStatus(SequenceStatus.RUNNING);
    manager.checkInvariants();
  }

  @ParameterizedTest
  @MethodSource("dev.tandem.core.blockmanager.BlockManagers#names")
  void outOfBlocksIsRejectedBeforeAnythingChanges(String name) {
    BlockSpaceManager manager = manager(name);
    manager.allocate(encoderDecoder("big", 41, NUM_BLOCKS * BLOCK_SIZE / 2, 0).group());
    EncoderDecoder tooBig = encoderDecoder("too-big", 42, BLOCK_SIZE * 3, BLOCK_SIZE * 2);
    assertRejected(manager, "too-big", () -> manager.allocate(tooBig.group()));
  }
}
