package dev.tandem.core.blockmanager;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tandem.api.block.BlockSpaceManager;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.api.sequence.SequenceStatus;
import dev.tandem.core.blockmanager.BlockManagerModel.Phase;
import dev.tandem.core.blockmanager.BlockManagerModel.Request;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The checks {@link BlockManagerModel} runs after every operation: the manager's own {@code
 * checkInvariants()}, table lengths, free counts equal to total minus the distinct blocks of the
 * live tables in each pool, no block in both a cross and a self table, a shared block at the same
 * position in every table holding it and with the same tokens in each (so a missing copy-on-write
 * shows), and (without prefix caching) no block shared across requests.
 */
final class ModelVerifier {

  private static final int GPU = 0;
  private static final int CPU = 1;
  private static final String[] POOL_NAMES = {"GPU", "CPU"};

  private final BlockSpaceManager manager;
  private final boolean prefixCaching;
  private final int blockSize;
  // Scratch for verify(), per pool (GPU, CPU) and block: its position in the self tables holding
  // it (-1: none), the request holding it in a self table, and the one holding it in a cross table.
  private final int[][] selfPosition;
  private final Request[][] selfOwner;
  private final Request[][] crossOwner;
  // ... and the sequence with the most slotted tokens among the self tables holding it.
  private final Sequence[][] widest;

  ModelVerifier(
      BlockSpaceManager manager,
      boolean prefixCaching,
      int blockSize,
      int numGpuBlocks,
      int numCpuBlocks) {
    this.manager = manager;
    this.prefixCaching = prefixCaching;
    this.blockSize = blockSize;
    this.selfPosition = new int[][] {new int[numGpuBlocks], new int[numCpuBlocks]};
    this.selfOwner = new Request[][] {new Request[numGpuBlocks], new Request[numCpuBlocks]};
    this.crossOwner = new Request[][] {new Request[numGpuBlocks], new Request[numCpuBlocks]};
    this.widest = new Sequence[][] {new Sequence[numGpuBlocks], new Sequence[numCpuBlocks]};
  }

  /**
   * Checks the manager against the model's live requests.
   *
   * @param expectedTableLength blocks each live sequence's self table must have
   * @param slotted tokens of each live sequence that have a slot in its blocks
   */
  void verify(
      List<Request> requests, Map<Long, Integer> expectedTableLength, Map<Long, Integer> slotted) {
    manager.checkInvariants();
    for (int pool = 0; pool < 2; pool++) {
      Arrays.fill(selfPosition[pool], -1);
      Arrays.fill(selfOwner[pool], null);
      Arrays.fill(crossOwner[pool], null);
      Arrays.fill(widest[pool], null);
    }
    List<Sequence> holders = new ArrayList<>();
    List<int[]> holderTables = new ArrayList<>();
    for (Request request : requests) {
      if (request.phase == Phase.WAITING) {
        continue;
      }
      int pool = request.phase == Phase.RUNNING ? GPU : CPU;
      String id = request.group.requestId();
      for (Sequence seq : request.live()) {
        int[] table = manager.getBlockTable(seq);
        assertEquals(expectedTableLength.get(seq.id()), table.length, () -> "length of " + seq);
        holders.add(seq);
        holderTables.add(table);
        for (int i = 0; i < table.length; i++) {
          int block = checkInPool(table[i], pool);
          int position = selfPosition[pool][block];
          if (position >= 0 && position != i) {
            fail("block " + block + " is at positions " + position + " and " + i);
          }
          selfPosition[pool][block] = i;
          Request owner = selfOwner[pool][block];
          if (!prefixCaching && owner != null && owner != request) {
            fail("block " + block + " is shared by " + owner.group.requestId() + " and " + id);
          }
          selfOwner[pool][block] = request;
          Sequence wide = widest[pool][block];
          if (wide == null || slotted.get(wide.id()) < slotted.get(seq.id())) {
            widest[pool][block] = seq;
          }
        }
      }
      if (request.group.isEncoderDecoder()) {
        int[] cross = manager.getCrossBlockTable(request.group);
        assertEquals(
            (request.group.encoderSequence().length() + blockSize - 1) / blockSize,
            cross.length,
            () -> "cross table length of " + id);
        for (int i = 0; i < cross.length; i++) {
          int block = checkInPool(cross[i], pool);
          Request owner = crossOwner[pool][block];
          if (owner != null) {
            if (!prefixCaching) {
              fail(
                  "cross block "
                      + block
                      + " is shared by "
                      + owner.group.requestId()
                      + " and "
                      + id);
            }
            Sequence encoder = owner.group.encoderSequence();
            assertSameTokens(encoder, request.group.encoderSequence(), i, encoder.length(), block);
          }
          crossOwner[pool][block] = request;
        }
      }
    }
    // A block shared by several tables holds one content: every holder must have the same tokens
    // as the holder with the most slotted tokens, over the positions it has slots for.
    for (int h = 0; h < holders.size(); h++) {
      Sequence seq = holders.get(h);
      int pool = seq.status() == SequenceStatus.SWAPPED ? CPU : GPU;
      int[] table = holderTables.get(h);
      for (int i = 0; i < table.length; i++) {
        Sequence wide = widest[pool][table[i]];
        if (wide != seq) {
          assertSameTokens(wide, seq, i, slotted.get(seq.id()), table[i]);
        }
      }
    }
    checkPool(GPU, manager.numFreeGpuBlocks());
    checkPool(CPU, manager.numFreeCpuBlocks());
  }

  /** Tokens of block {@code index} that {@code b} has slots for (below {@code limit}) match. */
  private void assertSameTokens(Sequence a, Sequence b, int index, int limit, int block) {
    int end = Math.min((index + 1) * blockSize, limit);
    for (int p = index * blockSize; p < end; p++) {
      if (a.tokenAt(p) != b.tokenAt(p)) {
        fail(
            "block "
                + block
                + " is shared but token "
                + p
                + " differs: "
                + a.tokenAt(p)
                + " in sequence "
                + a.id()
                + ", "
                + b.tokenAt(p)
                + " in sequence "
                + b.id());
      }
    }
  }

  private int checkInPool(int block, int pool) {
    if (block < 0 || block >= selfPosition[pool].length) {
      fail("block " + block + " is outside the " + POOL_NAMES[pool] + " pool");
    }
    return block;
  }

  /** No block both cross and self; free = total − distinct held blocks. */
  private void checkPool(int pool, int free) {
    int held = 0;
    for (int block = 0; block < selfPosition[pool].length; block++) {
      boolean self = selfPosition[pool][block] >= 0;
      boolean cross = crossOwner[pool][block] != null;
      if (self && cross) {
        fail(POOL_NAMES[pool] + " block " + block + " is in a cross and a self table");
      }
      held += self || cross ? 1 : 0;
    }
    assertEquals(
        selfPosition[pool].length - held,
        free,
        () -> POOL_NAMES[pool] + " free = total - distinct held blocks");
  }
}
