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
 * tokens) have identical cross-attention K/V, so they share one table, reference counted by its
 * users' request ids; its blocks are freed when its last user frees it. Sharing happens within a
 * pool: at most one table per encoder input and pool.
 *
 * <p><b>Swapping</b> a request's cross table to the other pool, per user:
 *
 * <ol>
 *   <li>if the other pool holds a table for the same encoder input, the request joins it (no copy:
 *       the data is there) and leaves its current table, which is freed if it was the last user;
 *   <li>else, if the request is the table's only user, the table moves (its blocks are copied and
 *       released here);
 *   <li>else the request takes a copy in the other pool, and the table stays for its other users.
 * </ol>
 *
 * So a shared table is never pulled out from under a request that stays, and a pool never holds two
 * tables for one input.
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

    @Override
    public String toString() {
      return "EncoderInput[" + tokens.length + " tokens]";
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
      join(existing, requestId);
      return;
    }
    BlockTable table = BlockTable.forEncoder(allocator, blockSize);
    table.allocate(encoderSequence);
    register(new CrossTable(table, input, requestId), requestId);
  }

  private void join(CrossTable crossTable, String requestId) {
    crossTable.users.add(requestId);
    byRequest.put(requestId, crossTable);
  }

  private void register(CrossTable crossTable, String requestId) {
    byRequest.put(requestId, crossTable);
    if (crossTable.input != null) {
      byInput.get(crossTable.table.device()).put(crossTable.input, crossTable);
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
      if (crossTable.input != null) {
        byInput.get(crossTable.table.device()).remove(crossTable.input);
      }
      crossTable.table.free();
    }
  }

  /** Blocks {@link #swap} would take from the target pool: 0 when the request can join a table. */
  int numBlocksToSwap(String requestId, Device target) {
    CrossTable crossTable = crossTable(requestId);
    return sharedTableIn(target, crossTable) != null ? 0 : crossTable.table.numBlocks();
  }

  private CrossTable sharedTableIn(Device target, CrossTable crossTable) {
    return crossTable.input == null ? null : byInput.get(target).get(crossTable.input);
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
    CrossTable shared = sharedTableIn(target, crossTable);
    if (shared != null) {
      leave(crossTable, requestId);
      join(shared, requestId);
    } else if (crossTable.users.size() == 1) {
      if (crossTable.input != null) {
        byInput.get(crossTable.table.device()).remove(crossTable.input);
      }
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
      if (crossTable.input != null
          && byInput.get(crossTable.table.device()).get(crossTable.input) != crossTable) {
        throw new IllegalStateException(
            "cross table of requests " + crossTable.users + " is not registered for its input");
      }
      crossTable.table.checkConsistency("the cross table of requests " + crossTable.users);
      for (int b = 0; b < crossTable.table.numBlocks(); b++) {
        expectedRefCounts[crossTable.table.blockId(b)]++;
      }
    }
    for (Map<EncoderInput, CrossTable> tables : byInput.values()) {
      for (CrossTable crossTable : tables.values()) {
        if (crossTable.users.isEmpty()
            || byRequest.get(crossTable.users.iterator().next()) != crossTable) {
          throw new IllegalStateException("a cross table registered for its input has no user");
        }
      }
    }
  }
}
