package dev.tandem.core.model.layers;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionSpec;
import dev.tandem.api.backend.AttentionType;
import dev.tandem.api.backend.DeviceTensor;

/**
 * Multi-head attention with q, k, v and output projections. Self-attention (ENCODER or DECODER)
 * projects k and v from its own input; cross-attention (ENCODER_DECODER) projects them from the
 * encoder output at prefill, when the backend writes them into the cross blocks, and reads the
 * cross cache at decode.
 */
public record AttentionBlock(
    AttentionType type, AttentionSpec spec, Linear q, Linear k, Linear v, Linear o)
    implements Block {

  public AttentionBlock {
    requireNonNull(type, "type is null");
    requireNonNull(spec, "spec is null");
    requireNonNull(q, "q is null");
    requireNonNull(k, "k is null");
    requireNonNull(v, "v is null");
    requireNonNull(o, "o is null");
  }

  @Override
  public void apply(StepContext ctx, DeviceTensor x, int n, DeviceTensor out) {
    AttentionBackend backend = ctx.backend();
    Workspace ws = ctx.workspace();
    q.apply(backend, x, n, ws.query); // (n, heads * headDim)
    DeviceTensor keys = ws.key;
    DeviceTensor values = ws.value;
    if (type != AttentionType.ENCODER_DECODER) {
      k.apply(backend, x, n, keys);
      v.apply(backend, x, n, values);
    } else if (ctx.metadata().prefill()) {
      // (numEncoderTokens, heads * headDim): written once into the group's cross blocks
      k.apply(backend, ctx.encoderOutput(), ctx.numEncoderTokens(), keys);
      v.apply(backend, ctx.encoderOutput(), ctx.numEncoderTokens(), values);
    } else {
      keys = null; // decode: the backend reads the cross cache
      values = null;
    }
    backend.attention(type, spec, ws.query, keys, values, ws.context, ctx.metadata());
    o.apply(backend, ws.context, n, out);
  }
}
