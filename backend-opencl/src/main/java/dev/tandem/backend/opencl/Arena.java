package dev.tandem.backend.opencl;

import java.util.Map;
import java.util.TreeMap;

/**
 * First-fit allocator of element ranges inside one device array. Freed ranges merge with their
 * neighbours; a range that ends at the top lowers it. Sizes are rounded up to {@value #ALIGNMENT}
 * elements so rows of different tensors never share a cache line.
 */
final class Arena {

  static final int ALIGNMENT = 16;

  private final TreeMap<Integer, Integer> free = new TreeMap<>(); // offset -> length
  private int top;
  private long used;

  static int reserved(int length) {
    return Math.max(ALIGNMENT, (length + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT);
  }

  /** The offset of a new range of {@code size} (already rounded), or −1 if above capacity. */
  int allocate(int size, int capacity) {
    for (Map.Entry<Integer, Integer> hole : free.entrySet()) {
      if (hole.getValue() >= size) {
        int offset = hole.getKey();
        free.remove(offset);
        if (hole.getValue() > size) {
          free.put(offset + size, hole.getValue() - size);
        }
        used += size;
        return offset;
      }
    }
    if ((long) top + size > capacity) {
      return -1;
    }
    int offset = top;
    top += size;
    used += size;
    return offset;
  }

  /** Elements a request of {@code size} needs the array to hold: the top after bumping it. */
  long capacityFor(int size) {
    return (long) top + size;
  }

  void release(int offset, int size) {
    used -= size;
    int start = offset;
    int length = size;
    Map.Entry<Integer, Integer> before = free.floorEntry(offset);
    if (before != null && before.getKey() + before.getValue() == offset) {
      start = before.getKey();
      length += before.getValue();
      free.remove(before.getKey());
    }
    Integer after = free.get(offset + size);
    if (after != null) {
      length += after;
      free.remove(offset + size);
    }
    if (start + length == top) {
      top = start;
    } else {
      free.put(start, length);
    }
  }

  long used() {
    return used;
  }

  void clear() {
    free.clear();
    top = 0;
    used = 0;
  }
}
