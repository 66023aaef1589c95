package dev.tandem.blockmanager.v1;

import dev.tandem.api.block.Device;
import java.util.ArrayList;
import java.util.List;

/**
 * One self-attention or cross-attention block table: the physical blocks holding a sequence's
 * tokens in order, all on one device. The device is kept even for an empty table (an empty encoder
 * input has a cross table of 0 blocks), so swap state is checked the same way for every table.
 */
final class BlockTable {

  private final List<PhysicalBlock> blocks;
  private Device device;
  // Prefix caching: tokens reported computed by markBlocksAsComputed, for chunked prefill.
  private int numComputedTokens;

  BlockTable(Device device, List<PhysicalBlock> blocks) {
    this.device = device;
    this.blocks = blocks;
  }

  /** A copy holding the same blocks (the caller increments their reference counts). */
  BlockTable copy() {
    BlockTable copy = new BlockTable(device, new ArrayList<>(blocks));
    copy.numComputedTokens = numComputedTokens;
    return copy;
  }

  Device device() {
    return device;
  }

  int size() {
    return blocks.size();
  }

  PhysicalBlock get(int index) {
    return blocks.get(index);
  }

  PhysicalBlock last() {
    return blocks.getLast();
  }

  void set(int index, PhysicalBlock block) {
    blocks.set(index, block);
  }

  void add(PhysicalBlock block) {
    blocks.add(block);
  }

  List<PhysicalBlock> blocks() {
    return blocks;
  }

  /** Replaces every block, in place, by its copy on the other device (after a swap). */
  void moveTo(Device target, List<PhysicalBlock> moved) {
    blocks.clear();
    blocks.addAll(moved);
    device = target;
  }

  int numComputedTokens() {
    return numComputedTokens;
  }

  void setNumComputedTokens(int numComputedTokens) {
    this.numComputedTokens = numComputedTokens;
  }

  int[] blockNumbers() {
    int[] numbers = new int[blocks.size()];
    for (int i = 0; i < numbers.length; i++) {
      numbers[i] = blocks.get(i).blockNumber();
    }
    return numbers;
  }
}
