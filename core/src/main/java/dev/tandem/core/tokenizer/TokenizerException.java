package dev.tandem.core.tokenizer;

/** A tokenizer that cannot be loaded or used; the message names the file and what is wrong. */
public final class TokenizerException extends RuntimeException {
  public TokenizerException(String message) {
    super(message);
  }

  public TokenizerException(String message, Throwable cause) {
    super(message, cause);
  }
}
