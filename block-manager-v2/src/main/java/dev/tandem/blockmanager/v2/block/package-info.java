/**
 * Blocks and their pools, after vLLM's {@code vllm/core/block}: {@link
 * dev.tandem.blockmanager.v2.block.BlockTable} (a sequence's blocks, lookahead slots,
 * copy-on-write, hash-chained promotion of full blocks), {@link
 * dev.tandem.blockmanager.v2.block.CpuGpuBlockAllocator} (two pools with global block ids), {@link
 * dev.tandem.blockmanager.v2.block.NaiveBlockAllocator} and {@link
 * dev.tandem.blockmanager.v2.block.PrefixCachingBlockAllocator} (reference counts, content-hash
 * cache, least-recently-used evictor, computed-block tracking). Internal to the plugin: the package
 * is not exported.
 */
package dev.tandem.blockmanager.v2.block;
