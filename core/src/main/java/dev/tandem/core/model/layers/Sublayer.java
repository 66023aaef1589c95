package dev.tandem.core.model.layers;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.DeviceTensor;

/**
 * A block with its residual connection and norm. Pre-norm (T5, mBART): h = h + block(norm(h)).
 * Post-norm (BART, Marian): h = norm(h + block(h)).
 */
public record Sublayer(Block block, Norm norm, boolean preNorm) {

  public Sublayer {
    requireNonNull(block, "block is null");
    requireNonNull(norm, "norm is null");
  }

  /**
   * Updates the residual stream hidden(n, dModel) in place and leaves what the next sublayer needs.
   * A pre-norm sublayer whose input is not yet normalized ({@code normedReady} false) normalizes
   * hidden into the workspace's normed buffer first. Its residual add then goes into one fused call
   * with {@code nextNorm}, the next sublayer's pre-norm (output: normed) or the stack's final norm
   * (output: hidden), when there is one. A post-norm sublayer fuses its add with its own norm.
   *
   * @param nextNorm the norm applied right after this sublayer's residual add, or null
   * @param nextIsFinal whether nextNorm is the stack's final norm (it then writes hidden)
   * @return whether normed now holds the next sublayer's normalized input
   */
  boolean apply(
      StepContext ctx,
      DeviceTensor hidden,
      int n,
      int dModel,
      boolean normedReady,
      Norm nextNorm,
      boolean nextIsFinal) {
    AttentionBackend backend = ctx.backend();
    Workspace ws = ctx.workspace();
    if (!preNorm) {
      block.apply(ctx, hidden, n, ws.blockOut);
      norm.addThenApply(backend, hidden, ws.blockOut, n, hidden);
      return false;
    }
    if (!normedReady) {
      norm.apply(backend, hidden, n, ws.normed);
    }
    block.apply(ctx, ws.normed, n, ws.blockOut);
    if (nextNorm == null) {
      backend.add(hidden, ws.blockOut, (long) n * dModel, hidden);
      return false;
    }
    nextNorm.addThenApply(backend, hidden, ws.blockOut, n, nextIsFinal ? hidden : ws.normed);
    return !nextIsFinal;
  }
}
