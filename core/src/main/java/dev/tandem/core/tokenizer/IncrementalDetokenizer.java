package dev.tandem.core.tokenizer;

import static java.util.Objects.requireNonNull;

import java.util.Arrays;

/**
 * Turns a growing sequence of generated ids into text pieces for streaming, such that the pieces
 * concatenate to {@code tokenizer.decode(allIds, skipSpecialTokens)}.
 *
 * <p>Decoding one token at a time is wrong: a multi-byte character may span several byte-level
 * tokens, and decoders such as Metaspace drop the leading space of the first token they see. So, as
 * vLLM does, each step decodes a short window that starts at a token already emitted, twice: up to
 * the previous end and up to the new end; the new text is the difference. A window ending in an
 * incomplete character (U+FFFD) is held back until a later token completes it.
 *
 * <p>Not thread-safe: one instance per sequence.
 */
public final class IncrementalDetokenizer {
  private static final char REPLACEMENT_CHARACTER = '\uFFFD';

  private final Tokenizer tokenizer;
  private final boolean skipSpecialTokens;
  private final StringBuilder text = new StringBuilder();
  private int prefixOffset; // the window starts here: the first token of the last emitted step
  private int readOffset; // text of ids before this index has been emitted

  public IncrementalDetokenizer(Tokenizer tokenizer, boolean skipSpecialTokens) {
    this.tokenizer = requireNonNull(tokenizer, "tokenizer is null");
    this.skipSpecialTokens = skipSpecialTokens;
  }

  /**
   * The text completed by the ids added since the last call, or "" if none is complete yet.
   *
   * @param ids every id generated so far; each call's ids must extend the previous call's
   */
  public String next(int[] ids) {
    return advance(ids, false);
  }

  /** Like {@link #next}, but also returns text held back as incomplete: call at the end. */
  public String finish(int[] ids) {
    return advance(ids, true);
  }

  /** Everything returned so far, concatenated. */
  public String text() {
    return text.toString();
  }

  private String advance(int[] ids, boolean last) {
    requireNonNull(ids, "ids is null");
    if (ids.length < readOffset) {
      throw new IllegalArgumentException(
          "ids shrank from "
              + readOffset
              + " to "
              + ids.length
              + "; pass all ids generated so far");
    }
    String emitted = decode(ids, prefixOffset, readOffset);
    String extended = decode(ids, prefixOffset, ids.length);
    if (extended.length() <= emitted.length()
        || (!last && extended.charAt(extended.length() - 1) == REPLACEMENT_CHARACTER)) {
      return "";
    }
    String piece = extended.substring(emitted.length());
    prefixOffset = readOffset;
    readOffset = ids.length;
    text.append(piece);
    return piece;
  }

  private String decode(int[] ids, int from, int to) {
    return from == to ? "" : tokenizer.decode(Arrays.copyOfRange(ids, from, to), skipSpecialTokens);
  }
}
