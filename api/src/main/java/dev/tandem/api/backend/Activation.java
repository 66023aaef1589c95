package dev.tandem.api.backend;

/** Element-wise activations of the supported model families, named as HuggingFace's ACT2FN. */
public enum Activation {
  /** max(0, x): T5 v1.0 FFN. */
  RELU,
  /** Exact GELU, x * Φ(x) with erf: BART, mBART ("gelu"). */
  GELU,
  /** Tanh approximation ("gelu_new", "gelu_pytorch_tanh"): T5 v1.1 / Flan-T5 gated-gelu. */
  GELU_TANH,
  /** x * sigmoid(x) ("silu", "swish"): Marian, gated-silu. */
  SILU
}
