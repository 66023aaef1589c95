package dev.tandem.blockmanager.v2;

import dev.tandem.api.block.Device;
import dev.tandem.api.sequence.Sequence;
import dev.tandem.blockmanager.v2.block.BlockTable;
import dev.tandem.blockmanager.v2.block.CpuGpuBlockAllocator;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The cross-attention block tables, one per encoder/decoder request id.
 *
 * <p><b>Sharing</b> (with prefix caching only): requests whose encoder inputs are identical (same
 * tokens) have identical cross-attention K/V, so a request allocated while a device table for its
 * input exists joins that table instead of allocating its own. A table is reference counted by its
 * users' request ids and freed when its last user frees it. Each pool registers at most one table
 * per input, the one new requests join.
 *
 * <p><b>Swapping</b> a request's cross table to the other pool: if the request is the table's only
 * user, the table moves (its blocks are copied there and released here); otherwise the request gets
 * its own copy in the other pool and the table stays for its other users. Either way every block of
 * the request's table is in the swap mapping, as for decoder tables, and a shared table is never
 * pulled out from under a request that stays. A moved or copied table is registered in its new pool
 * if that pool has no table for the input yet, else it stays private to its users.
 */
final class CrossBlockTables {

  /** A request's encoder input, compared by its tokens. */
  private record EncoderInput(int[] tokens) {
    @Override
    public boolean equals(Object o) {
      return o instanceof EncoderInput other && Arrays.equals(tokens, other.tokens);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(tokens);
    }
  }

  private static final class CrossTable {
    final BlockTable table;
    final EncoderInput input; // null when tables are not shared
    final Set<String> users = new HashSet<>();

    CrossTable(BlockTable table, EncoderInput input, String firstUser) {
      this.table = table;
      this.input = input;
      users.add(firstUser);
    }
  }

  private final CpuGpuBlockAllocator allocator;
  private final int blockSize;
  private final boolean shareIdenticalInputs;
  private final Map<String, CrossTable> byRequest = new HashMap<>();
  private final Map<Device, Map<EncoderInput, CrossTable>> byInput = new EnumMap<>(Device.class);

  CrossBlockTables(CpuGpuBlockAllocator allocator, int blockSize, boolean shareIdenticalInputs) {
    this.allocator = allocator;
    this.blockSize = blockSize;
    this.shareIdenticalInputs = shareIdenticalInputs;
    for (Device device : Device.values()) {
      byInput.put(device, new HashMap<>());
    }
  }

  boolean contains(String requestId) {
    return byRequest.containsKey(requestId);
  }

  /** Gives the request a device table for the encoder input: a shared one, or a new one. */
  void allocate(String requestId, Sequence encoderSequence) {
    if (byRequest.containsKey(requestId)) {
      throw new IllegalStateException(
          "request " + requestId + " already has a cross block table: free it first (freeCross)");
    }
    EncoderInput input = shareIdenticalInputs ? new EncoderInput(encoderSequence.tokenIds()) : null;
    CrossTable existing = input == null ? null : byInput.get(Device.GPU).get(input);
    if (existing != null) {
      existing.users.add(requestId);
      byRequest.put(requestId, existing);
      return;
    }
    BlockTable table = BlockTable.forEncoder(allocator, blockSize);
    table.allocate(encoderSequence);
    register(new CrossTable(table, input, requestId), requestId);
  }

  /** Maps the request to the table, which new requests join unless its pool has one already. */
  private void register(CrossTable crossTable, String requestId) {
    byRequest.put(requestId, crossTable);
    if (crossTable.input != null) {
      byInput.get(crossTable.table.device()).putIfAbsent(crossTable.input, crossTable);
    }
  }

  /** Stops new requests from joining the table (if they could). */
  private void unregister(CrossTable crossTable) {
    if (crossTable.input != null) {
      byInput.get(crossTable.table.device()).remove(crossTable.input, crossTable);
    }
  }

  private CrossTable crossTable(String requestId) {
    CrossTable crossTable = byRequest.get(requestId);
    if (crossTable == null) {
      throw new IllegalArgumentException(
          "request "
              + requestId
              + " has no cross block table: it was never allocated, or was freed already");
    }
    return crossTable;
  }

  int[] physicalBlockIds(String requestId) {
    return crossTable(requestId).table.physicalBlockIds();
  }

  Device device(String requestId) {
    return crossTable(requestId).table.device();
  }

  /** The request stops using its table; the last user frees the blocks. */
  void free(String requestId) {
    CrossTable crossTable = crossTable(requestId);
    byRequest.remove(requestId);
    leave(crossTable, requestId);
  }

  private void leave(CrossTable crossTable, String requestId) {
    crossTable.users.remove(requestId);
    if (crossTable.users.isEmpty()) {
      unregister(crossTable);
      crossTable.table.free();
    }
  }

  /** Blocks {@link #swap} takes from the target pool: a copy of every block of the table. */
  int numBlocksToSwap(String requestId) {
    return crossTable(requestId).table.numBlocks();
  }

  /**
   * Swaps the request's cross table to the target pool by the rules in the class comment.
   *
   * @param moved extended with the (source, copy) global block ids the backend must copy
   */
  void swap(String requestId, Device target, Map<Integer, Integer> moved) {
    CrossTable crossTable = crossTable(requestId);
    if (crossTable.table.device() == target) {
      throw new IllegalStateException(
          "the cross block table of request " + requestId + " is in the " + target + " pool");
    }
    if (crossTable.users.size() == 1) {
      unregister(crossTable);
      crossTable.table.moveTo(target, moved);
      register(crossTable, requestId);
    } else {
      crossTable.users.remove(requestId);
      BlockTable copy = crossTable.table.copyTo(target, moved);
      register(new CrossTable(copy, crossTable.input, requestId), requestId);
    }
  }

  void freeAll() {
    for (CrossTable crossTable : distinctTables()) {
      crossTable.table.free();
    }
    byRequest.clear();
    byInput.values().forEach(Map::clear);
  }

  private Set<CrossTable> distinctTables() {
    Set<CrossTable> tables = Collections.newSetFromMap(new IdentityHashMap<>());
    tables.addAll(byRequest.values());
    return tables;
  }

  /**
   * Checks the tables' bookkeeping and adds one reference per block of each distinct table.
   *
   * @param expectedRefCounts indexed by global block id
   */
  void countReferences(int[] expectedRefCounts) {
    for (Map.Entry<String, CrossTable> entry : byRequest.entrySet()) {
      if (!entry.getValue().users.contains(entry.getKey())) {
        throw new IllegalStateException(
            "request " + entry.getKey() + " maps to a cross table that does not list it as user");
      }
    }
    for (CrossTable crossTable : distinctTables()) {
      for (String user : crossTable.users) {
        if (byRequest.get(user) != crossTable) {
          throw new IllegalStateException(
              "cross table lists request " + user + ", which maps to another table");
        }
      }
      crossTable.table.checkConsistency(() -> "the cross table of requests " + crossTable.users);
      for (int b = 0; b < crossTable.table.numBlocks(); b++) {
        expectedRefCounts[crossTable.table.blockId(b)]++;
      }
    }
    for (Map.Entry<Device, Map<EncoderInput, CrossTable>> pool : byInput.entrySet()) {
      for (CrossTable crossTable : pool.getValue().values()) {
        if (crossTable.users.isEmpty()
            || byRequest.get(crossTable.users.iterator().next()) != crossTable
            || crossTable.table.device() != pool.getKey()) {
          throw new IllegalStateException(
              "the " + pool.getKey() + " pool registers a cross table that is freed or elsewhere");
        }
      }
    }
  }
}
