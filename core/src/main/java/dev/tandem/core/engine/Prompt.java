package dev.tandem.core.engine;

import static java.util.Objects.requireNonNull;

import java.util.Arrays;

/** An encoder or decoder prompt: text for the model's tokenizer, or token ids as they are. */
public sealed interface Prompt {

  /** Text, tokenized with the special tokens the model's tokenizer adds. */
  record Text(String text) implements Prompt {
    public Text {
      requireNonNull(text, "text is null");
    }
  }

  /** Token ids, used as given. */
  record Tokens(int[] ids) implements Prompt {
    public Tokens {
      ids = requireNonNull(ids, "ids is null").clone();
    }

    @Override
    public int[] ids() {
      return ids.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Tokens other && Arrays.equals(ids, other.ids);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(ids);
    }

    @Override
    public String toString() {
      return "Tokens" + Arrays.toString(ids);
    }
  }

  static Prompt text(String text) {
    return new Text(text);
  }

  static Prompt tokens(int... ids) {
    return new Tokens(ids);
  }
}
