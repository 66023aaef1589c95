package dev.tandem.core.sampling;

import static java.util.Objects.requireNonNull;

/**
 * The model's special-token rules from its generation config, applied to every request.
 *
 * @param eosTokenIds tokens that end a sequence unless {@code ignore_eos}
 * @param forcedBosTokenId the token forced as the first generated one, or -1 for none
 * @param forcedEosTokenId the token forced as the last one allowed by {@code max_tokens}, or -1
 */
public record TokenRules(int[] eosTokenIds, int forcedBosTokenId, int forcedEosTokenId) {

  public static final int NONE = -1;

  public TokenRules {
    eosTokenIds = requireNonNull(eosTokenIds, "eosTokenIds is null").clone();
  }

  @Override
  public int[] eosTokenIds() {
    return eosTokenIds.clone();
  }

  public boolean isEos(int token) {
    for (int eos : eosTokenIds) {
      if (eos == token) {
        return true;
      }
    }
    return false;
  }
}
