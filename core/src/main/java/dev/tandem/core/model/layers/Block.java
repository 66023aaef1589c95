package dev.tandem.core.model.layers;

import dev.tandem.api.backend.DeviceTensor;

/** The computation inside a residual sublayer: attention or feed-forward. */
public sealed interface Block permits AttentionBlock, FeedForward {

  /**
   * out(n, dModel) = block(x(n, dModel)). out must not alias x; the block may use the workspace's
   * scratch buffers other than x and out.
   */
  void apply(StepContext ctx, DeviceTensor x, int n, DeviceTensor out);
}
