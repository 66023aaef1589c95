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

  /** Updates the residual stream hidden(n, dModel) in place. */
  void apply(StepContext ctx, DeviceTensor hidden, int n, int dModel) {
    AttentionBackend backend = ctx.backend();
    Workspace ws = ctx.workspace();
    long count = (long) n * dModel;
    if (preNorm) {
      norm.apply(backend, hidden, n, ws.normed);
      block.apply(ctx, ws.normed, n, ws.blockOut);
      backend.add(hidden, ws.blockOut, count, hidden);
    } else {
      block.apply(ctx, hidden, n, ws.blockOut);
      backend.add(hidden, ws.blockOut, count, hidden);
      norm.apply(backend, hidden, n, hidden);
    }
  }
}
