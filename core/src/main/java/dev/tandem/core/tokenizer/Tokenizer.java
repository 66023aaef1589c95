package dev.tandem.core.tokenizer;

import java.util.Optional;
import java.util.OptionalInt;

/** Text to token ids and back, as the model's HuggingFace tokenizer does it. Thread-safe. */
public interface Tokenizer extends AutoCloseable {
  /**
   * The ids of {@code text} with the special tokens HuggingFace's {@code tokenizer(text)} adds (T5:
   * {@code </s>} appended; BART: {@code <s> ... </s>}); never truncated or padded.
   */
  default int[] encode(String text) {
    return encode(text, true);
  }

  /**
   * The ids of {@code text}, with the special tokens or without them (HuggingFace's {@code
   * tokenizer.encode(text, add_special_tokens=...)}).
   */
  int[] encode(String text, boolean addSpecialTokens);

  /**
   * The text of {@code ids}, as HuggingFace's {@code tokenizer.decode(ids, skip_special_tokens)}
   * with the tokenizer's own clean-up setting. Ids the tokenizer does not know are skipped.
   */
  String decode(int[] ids, boolean skipSpecialTokens);

  /** The number of tokens, added tokens included (HuggingFace's {@code len(tokenizer)}). */
  int vocabSize();

  /** The id of a token as written in the vocabulary (e.g. {@code "</s>"}, {@code "▁the"}). */
  OptionalInt tokenToId(String token);

  /** The vocabulary entry of {@code id}, if the tokenizer has one. */
  Optional<String> idToToken(int id);

  /** Whether {@code id} is a special token (skipped by {@code decode(ids, true)}). */
  boolean isSpecial(int id);

  /** Releases native resources; the tokenizer cannot be used afterwards. */
  @Override
  void close();
}
