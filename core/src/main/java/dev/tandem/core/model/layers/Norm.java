package dev.tandem.core.model.layers;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.DeviceTensor;

/** A per-row normalization of (n, dim) activations; out may alias x. */
public sealed interface Norm {

  void apply(AttentionBackend backend, DeviceTensor x, int n, DeviceTensor out);

  /** residual += delta, then out = the norm of residual, in one backend call. */
  void addThenApply(
      AttentionBackend backend, DeviceTensor residual, DeviceTensor delta, int n, DeviceTensor out);

  /** T5's LayerNorm: no mean subtraction, no bias. */
  record Rms(DeviceTensor weight, int dim, float eps) implements Norm {
    public Rms {
      requireNonNull(weight, "weight is null");
    }

    @Override
    public void apply(AttentionBackend backend, DeviceTensor x, int n, DeviceTensor out) {
      backend.rmsNorm(x, n, dim, weight, eps, out);
    }

    @Override
    public void addThenApply(
        AttentionBackend backend,
        DeviceTensor residual,
        DeviceTensor delta,
        int n,
        DeviceTensor out) {
      backend.addRmsNorm(residual, delta, n, dim, weight, eps, out);
    }
  }

  /** nn.LayerNorm with weight and bias (the BART family). */
  record Layer(DeviceTensor weight, DeviceTensor bias, int dim, float eps) implements Norm {
    public Layer {
      requireNonNull(weight, "weight is null");
      requireNonNull(bias, "bias is null");
    }

    @Override
    public void apply(AttentionBackend backend, DeviceTensor x, int n, DeviceTensor out) {
      backend.layerNorm(x, n, dim, weight, bias, eps, out);
    }

    @Override
    public void addThenApply(
        AttentionBackend backend,
        DeviceTensor residual,
        DeviceTensor delta,
        int n,
        DeviceTensor out) {
      backend.addLayerNorm(residual, delta, n, dim, weight, bias, eps, out);
    }
  }
}
