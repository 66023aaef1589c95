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
 * <p>Special tokens that {@code decode} skips ({@code skipSpecialTokens}) never enter a window:
 * they add no text, and a model that emits them for a long time (a benchmark that ignores EOS)
 * would otherwise make every window, and every step's decode, as long as the sequence.
 *
 * <p>Not thread-safe: one instance per sequence.
 */
public final class IncrementalDetokenizer {
  private static final char REPLACEMENT_CHARACTER = '\uFFFD';

  private final Tokenizer tokenizer;
  private final boolean skipSpecialTokens;
  private final StringBuilder text = new StringBuilder();
  private int[] window = new int[8]; // the ids of the last emitted step, then those not yet emitted
  private int emittedLength; // window[0..emittedLength): the last emitted step's ids (context)
  private int windowLength;
  private int consumed; // ids seen so far, skipped special tokens included

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
    if (ids.length < consumed) {
      throw new IllegalArgumentException(
          "ids shrank from " + consumed + " to " + ids.length + "; pass all ids generated so far");
    }
    for (int i = consumed; i < ids.length; i++) {
      if (!(skipSpecialTokens && tokenizer.isSpecial(ids[i]))) {
        if (windowLength == window.length) {
          window = Arrays.copyOf(window, 2 * window.length);
        }
        window[windowLength++] = ids[i];
      }
    }
    consumed = ids.length;
    if (windowLength == emittedLength) {
      return ""; // nothing but skipped special tokens since the last piece
    }
    String emitted = decode(0, emittedLength);
    String extended = decode(0, windowLength);
    if (extended.length() <= emitted.length()
        || (!last && extended.charAt(extended.length() - 1) == REPLACEMENT_CHARACTER)) {
      return "";
    }
    String piece = extended.substring(emitted.length());
    // This step's ids become the context of the next window.
    System.arraycopy(window, emittedLength, window, 0, windowLength - emittedLength);
    windowLength -= emittedLength;
    emittedLength = windowLength;
    text.append(piece);
    return piece;
  }

  private String decode(int from, int to) {
    return from == to
        ? ""
        : tokenizer.decode(Arrays.copyOfRange(window, from, to), skipSpecialTokens);
  }
}
