/**
 * Block space manager "v2": vLLM's v2 block manager, extended for encoder/decoder requests.
 *
 * <p>{@link dev.tandem.blockmanager.v2.V2BlockSpaceManager} keeps one {@link
 * dev.tandem.blockmanager.v2.block.BlockTable} per decoder sequence and, through {@link
 * dev.tandem.blockmanager.v2.CrossBlockTables}, one cross-attention table per request, all over a
 * {@link dev.tandem.blockmanager.v2.block.CpuGpuBlockAllocator} (a device pool and a swap pool,
 * naive or prefix-caching). The manager checks every precondition before it changes anything, so a
 * rejected call leaves it as it was; {@code checkInvariants} audits the whole state.
 */
package dev.tandem.blockmanager.v2;
