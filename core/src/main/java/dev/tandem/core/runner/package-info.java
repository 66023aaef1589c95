/** Packs a scheduled batch and builds AttentionMetadata from the block manager's tables. */
package dev.tandem.core.runner;
