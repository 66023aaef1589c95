package dev.tandem.blockmanager.v1;

import dev.tandem.api.block.Device;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The audit behind {@link V1BlockSpaceManager#checkInvariants()}: counts the tables holding each
 * block and has each pool check those counts against its reference counts and free lists. Cross
 * blocks are never shared in v1, so each must be held by its table alone.
 */
final class InvariantAudit {

  private InvariantAudit() {}

  static void check(
      Map<Long, BlockTable> tables,
      Map<String, BlockTable> crossTables,
      BlockAllocator gpu,
      BlockAllocator cpu) {
    Map<PhysicalBlock, Integer> gpuHolders = new IdentityHashMap<>();
    Map<PhysicalBlock, Integer> cpuHolders = new IdentityHashMap<>();
    // The last table seen holding each block: a block seen twice in a row in one table is a dup.
    Map<PhysicalBlock, BlockTable> lastHolder = new IdentityHashMap<>();
    for (Map.Entry<Long, BlockTable> entry : tables.entrySet()) {
      countHolders(entry.getValue(), entry.getKey(), gpuHolders, cpuHolders, lastHolder);
    }
    for (Map.Entry<String, BlockTable> entry : crossTables.entrySet()) {
      countHolders(entry.getValue(), entry.getKey(), gpuHolders, cpuHolders, lastHolder);
      for (PhysicalBlock block : entry.getValue().blocks()) {
        if (block.refCount() != 1) {
          throw new IllegalStateException(
              block + " of the cross table of request " + entry.getKey() + " is shared");
        }
      }
    }
    gpu.checkConsistency(gpuHolders);
    cpu.checkConsistency(cpuHolders);
  }

  /**
   * @param owner the sequence id (Long) or request id (String) of the table, for messages
   */
  private static void countHolders(
      BlockTable table,
      Object owner,
      Map<PhysicalBlock, Integer> gpuHolders,
      Map<PhysicalBlock, Integer> cpuHolders,
      Map<PhysicalBlock, BlockTable> lastHolder) {
    Map<PhysicalBlock, Integer> holders = table.device() == Device.GPU ? gpuHolders : cpuHolders;
    for (PhysicalBlock block : table.blocks()) {
      if (block.device() != table.device()) {
        throw new IllegalStateException(
            describe(owner) + " is on the " + table.device() + " but holds " + block);
      }
      if (lastHolder.put(block, table) == table) {
        throw new IllegalStateException(describe(owner) + " holds " + block + " twice");
      }
      holders.merge(block, 1, Integer::sum);
    }
  }

  private static String describe(Object owner) {
    return owner instanceof Long seqId
        ? "the table of sequence " + seqId
        : "the cross table of request " + owner;
  }
}
