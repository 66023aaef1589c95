package dev.tandem.api.block;

/**
 * A block copy the backend must perform: from physical block {@code src} to {@code dst}. For swaps
 * the two numbers refer to different pools (see {@link BlockSpaceManager#swapIn} and {@link
 * BlockSpaceManager#swapOut}); for copy-on-write both are device blocks.
 */
public record BlockMapping(int src, int dst) {}
