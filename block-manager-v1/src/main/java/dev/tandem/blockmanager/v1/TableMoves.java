package dev.tandem.blockmanager.v1;

import dev.tandem.api.block.BlockMapping;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Swapping's block moves: a sequence group's tables (its decoder sequences' and its cross table) go
 * from one pool to the other together, and a block that several of them share (forked beams, n
 * samples) moves once and stays shared.
 */
final class TableMoves {

  private TableMoves() {}

  /** The number of different blocks the tables hold: what a move takes from the other pool. */
  static int distinctBlocks(List<BlockTable> tables) {
    Map<PhysicalBlock, Boolean> distinct = new IdentityHashMap<>();
    for (BlockTable table : tables) {
      for (PhysicalBlock block : table.blocks()) {
        distinct.put(block, Boolean.TRUE);
      }
    }
    return distinct.size();
  }

  /**
   * Moves the tables' blocks from {@code from}'s pool to {@code to}'s, which must have {@link
   * #distinctBlocks} free blocks.
   *
   * @return (source block, destination block) in first-seen order: decoder blocks, then cross
   */
  static List<BlockMapping> move(List<BlockTable> tables, BlockAllocator from, BlockAllocator to) {
    // PhysicalBlock has identity equality, so this map is keyed by instance.
    Map<PhysicalBlock, PhysicalBlock> mapping = new LinkedHashMap<>();
    for (BlockTable table : tables) {
      List<PhysicalBlock> moved = new ArrayList<>(table.size());
      for (PhysicalBlock source : table.blocks()) {
        PhysicalBlock target = mapping.get(source);
        if (target == null) {
          target = to.allocateCopyOf(source);
          mapping.put(source, target);
        } else {
          target.incrementRefCount();
        }
        moved.add(target);
        from.free(source);
      }
      table.moveTo(to.device(), moved);
    }
    List<BlockMapping> result = new ArrayList<>(mapping.size());
    mapping.forEach((s, t) -> result.add(new BlockMapping(s.blockNumber(), t.blockNumber())));
    return result;
  }
}
