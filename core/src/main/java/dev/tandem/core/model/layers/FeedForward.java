package dev.tandem.core.model.layers;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.backend.Activation;
import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.DeviceTensor;

/** The position-wise feed-forward network of a transformer layer. */
public sealed interface FeedForward extends Block {

  /** out = wo(act(wi(x))): T5 v1.0's DenseReluDense, BART's fc1/fc2. */
  record Dense(Linear in, Activation activation, Linear out) implements FeedForward {
    public Dense {
      requireNonNull(in, "in is null");
      requireNonNull(activation, "activation is null");
      requireNonNull(out, "out is null");
    }

    @Override
    public void apply(StepContext ctx, DeviceTensor x, int n, DeviceTensor y) {
      AttentionBackend backend = ctx.backend();
      DeviceTensor hidden = ctx.workspace().ffn; // (n, dFf)
      in.apply(backend, x, n, hidden);
      backend.activation(activation, hidden, (long) n * in.outDim(), hidden);
      out.apply(backend, hidden, n, y);
    }
  }

  /** out = wo(act(wi_0(x)) * wi_1(x)): T5 v1.1's gated-gelu / gated-silu. */
  record Gated(Linear gate, Linear up, Activation activation, Linear out) implements FeedForward {
    public Gated {
      requireNonNull(gate, "gate is null");
      requireNonNull(up, "up is null");
      requireNonNull(activation, "activation is null");
      requireNonNull(out, "out is null");
    }

    @Override
    public void apply(StepContext ctx, DeviceTensor x, int n, DeviceTensor y) {
      AttentionBackend backend = ctx.backend();
      DeviceTensor gated = ctx.workspace().ffn; // (n, dFf)
      DeviceTensor linear = ctx.workspace().ffnGate; // (n, dFf)
      long count = (long) n * gate.outDim();
      gate.apply(backend, x, n, gated);
      backend.activation(activation, gated, count, gated);
      up.apply(backend, x, n, linear);
      backend.multiply(gated, linear, count, gated);
      out.apply(backend, gated, n, y);
    }
  }
}
