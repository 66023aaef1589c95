package dev.tandem.core.model.layers;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.DeviceTensor;
import dev.tandem.api.backend.Normalization;

/**
 * A per-row normalization of (n, dim) activations: T5's LayerNorm ({@link Normalization#RMS}: no
 * mean subtraction, no bias) or nn.LayerNorm with weight and bias (the BART family). out may alias
 * x.
 *
 * @param bias LAYER's; null for RMS
 */
public record Norm(Normalization kind, DeviceTensor weight, DeviceTensor bias, int dim, float eps) {

  public Norm {
    requireNonNull(kind, "kind is null");
    requireNonNull(weight, "weight is null");
    if (kind == Normalization.LAYER) {
      requireNonNull(bias, "bias is null");
    }
  }

  public void apply(AttentionBackend backend, DeviceTensor x, int n, DeviceTensor out) {
    backend.normalize(kind, x, null, n, dim, weight, bias, eps, out);
  }

  /** residual += delta, then out = the norm of residual, in one backend call. */
  public void addThenApply(
      AttentionBackend backend,
      DeviceTensor residual,
      DeviceTensor delta,
      int n,
      DeviceTensor out) {
    backend.normalize(
        kind, residual, requireNonNull(delta, "delta is null"), n, dim, weight, bias, eps, out);
  }
}
