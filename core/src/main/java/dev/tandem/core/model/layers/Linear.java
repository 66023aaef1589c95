package dev.tandem.core.model.layers;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.DeviceTensor;

/**
 * An nn.Linear on the device.
 *
 * @param weight (outDim, inDim), as HuggingFace stores it
 * @param bias (outDim), or null
 */
public record Linear(DeviceTensor weight, DeviceTensor bias, int inDim, int outDim) {

  public Linear {
    requireNonNull(weight, "weight is null");
  }

  /** y(n, outDim) = x(n, inDim) · weightᵀ + bias. */
  public void apply(AttentionBackend backend, DeviceTensor x, int n, DeviceTensor y) {
    backend.linear(x, n, inDim, weight, bias, outDim, y);
  }
}
