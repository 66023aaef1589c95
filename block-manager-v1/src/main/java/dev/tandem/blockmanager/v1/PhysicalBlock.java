package dev.tandem.blockmanager.v1;

import dev.tandem.api.block.Device;

/**
 * One physical KV-cache block of a pool, with the bookkeeping vLLM's v1 keeps on it: how many block
 * tables hold it and, for prefix caching, its content hash and last access time. Mutable and
 * compared by identity: exactly one instance exists per (device, block number).
 */
final class PhysicalBlock {

  private final Device device;
  private final int blockNumber;
  private int refCount;
  private long hash;
  private boolean contentHashed;
  private int numHashedTokens;
  private long lastAccessedNanos;
  private boolean computed;

  PhysicalBlock(Device device, int blockNumber) {
    this.device = device;
    this.blockNumber = blockNumber;
  }

  Device device() {
    return device;
  }

  int blockNumber() {
    return blockNumber;
  }

  int refCount() {
    return refCount;
  }

  void incrementRefCount() {
    refCount++;
  }

  /** Drops one reference; returns the new count. */
  int decrementRefCount() {
    if (refCount == 0) {
      throw new IllegalStateException("double free of " + this + ": it is already free");
    }
    return --refCount;
  }

  /** The key the cached allocator files this block under: a content hash or a unique id. */
  long hash() {
    return hash;
  }

  /** Whether {@link #hash()} is a content hash (shareable) rather than a unique id. */
  boolean isContentHashed() {
    return contentHashed;
  }

  int numHashedTokens() {
    return numHashedTokens;
  }

  void setHash(long hash, boolean contentHashed, int numHashedTokens) {
    this.hash = hash;
    this.contentHashed = contentHashed;
    this.numHashedTokens = numHashedTokens;
  }

  long lastAccessedNanos() {
    return lastAccessedNanos;
  }

  void setLastAccessedNanos(long lastAccessedNanos) {
    this.lastAccessedNanos = lastAccessedNanos;
  }

  /** Prefix caching: whether the block's KV has been computed (it may be reused by a prefill). */
  boolean isComputed() {
    return computed;
  }

  void setComputed(boolean computed) {
    this.computed = computed;
  }

  @Override
  public String toString() {
    return device + " block " + blockNumber + " (refCount " + refCount + ")";
  }
}
