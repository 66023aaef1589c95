package dev.tandem.blockmanager.v1;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.block.Device;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class UncachedBlockAllocatorTest {

  private final UncachedBlockAllocator allocator = new UncachedBlockAllocator(Device.CPU, 4);

  @Test
  void allocatesEveryBlockOnceThenRefuses() {
    Set<Integer> numbers = new HashSet<>();
    for (int i = 0; i < 4; i++) {
      PhysicalBlock block = allocator.allocate();
      assertEquals(1, block.refCount());
      assertTrue(numbers.add(block.blockNumber()));
      assertEquals(4 - i - 1, allocator.numFreeBlocks());
    }
    IllegalStateException e = assertThrows(IllegalStateException.class, allocator::allocate);
    assertTrue(e.getMessage().contains("out of CPU blocks"), e.getMessage());
  }

  @Test
  void freeingReturnsBlocksAndADoubleFreeIsRejected() {
    List<PhysicalBlock> blocks = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      blocks.add(allocator.allocate());
    }
    for (int i = 0; i < 4; i++) {
      allocator.free(blocks.get(i));
      assertEquals(i + 1, allocator.numFreeBlocks());
      PhysicalBlock freed = blocks.get(i);
      assertThrows(IllegalStateException.class, () -> allocator.free(freed));
    }
    allocator.checkConsistency(Map.of());
  }

  @Test
  void aSharedBlockReturnsWithItsLastReference() {
    PhysicalBlock block = allocator.allocate();
    block.incrementRefCount();
    allocator.free(block);
    assertEquals(3, allocator.numFreeBlocks());
    allocator.free(block);
    assertEquals(4, allocator.numFreeBlocks());
    assertSame(block, allocator.allocate(), "the most recently freed block is reused first");
  }

  @Test
  void rejectsABlockOfAnotherPool() {
    PhysicalBlock foreign = new UncachedBlockAllocator(Device.GPU, 4).allocate();
    assertThrows(IllegalStateException.class, () -> allocator.free(foreign));
  }

  @Test
  void auditFindsLeaksAndWrongReferenceCounts() {
    PhysicalBlock held = allocator.allocate();
    PhysicalBlock leaked = allocator.allocate();
    Map<PhysicalBlock, Integer> holders = new IdentityHashMap<>();
    holders.put(held, 1);
    assertThrows(IllegalStateException.class, () -> allocator.checkConsistency(holders));
    holders.put(leaked, 2);
    assertThrows(IllegalStateException.class, () -> allocator.checkConsistency(holders));
    holders.put(leaked, 1);
    allocator.checkConsistency(holders);
  }
}
