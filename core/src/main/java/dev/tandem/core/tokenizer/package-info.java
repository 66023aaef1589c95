/** Tokenizers behind Tandem's own interface; tokenizer.json through DJL's binding. */
package dev.tandem.core.tokenizer;
