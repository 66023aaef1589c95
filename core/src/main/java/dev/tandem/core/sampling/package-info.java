/** Turning logits into tokens: greedy, sampling, penalties, beam search. */
package dev.tandem.core.sampling;
