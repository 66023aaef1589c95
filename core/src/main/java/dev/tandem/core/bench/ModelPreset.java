package dev.tandem.core.bench;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Shapes of well-known checkpoints, for benchmarks with random weights: the same layer sizes as the
 * published models, so the work per token is theirs.
 *
 * @param family "t5" or "bart"
 * @param gatedGelu T5 v1.1 / Flan-T5 feed-forward (gated GELU, untied LM head)
 */
public enum ModelPreset {
  /** The shape of fixtures/t5-tiny: smoke tests of the harness. */
  T5_TINY("t5-tiny", "t5", 64, 2, 2, 4, 16, 128, 1008, false, 512),
  /** The shape of fixtures/bart-tiny. */
  BART_TINY("bart-tiny", "bart", 64, 2, 2, 4, 16, 128, 1008, false, 128),
  T5_SMALL("t5-small", "t5", 512, 6, 6, 8, 64, 2048, 32128, false, 512),
  T5_BASE("t5-base", "t5", 768, 12, 12, 12, 64, 3072, 32128, false, 512),
  FLAN_T5_SMALL("flan-t5-small", "t5", 512, 8, 8, 6, 64, 1024, 32128, true, 512),
  BART_BASE("bart-base", "bart", 768, 6, 6, 12, 64, 3072, 50265, false, 1024),
  BART_LARGE("bart-large", "bart", 1024, 12, 12, 16, 64, 4096, 50265, false, 1024);

  private final String label;
  private final String family;
  private final int dModel;
  private final int encoderLayers;
  private final int decoderLayers;
  private final int numHeads;
  private final int headDim;
  private final int dFf;
  private final int vocabSize;
  private final boolean gatedGelu;
  private final int maxPositions;

  ModelPreset(
      String label,
      String family,
      int dModel,
      int encoderLayers,
      int decoderLayers,
      int numHeads,
      int headDim,
      int dFf,
      int vocabSize,
      boolean gatedGelu,
      int maxPositions) {
    this.label = label;
    this.family = family;
    this.dModel = dModel;
    this.encoderLayers = encoderLayers;
    this.decoderLayers = decoderLayers;
    this.numHeads = numHeads;
    this.headDim = headDim;
    this.dFf = dFf;
    this.vocabSize = vocabSize;
    this.gatedGelu = gatedGelu;
    this.maxPositions = maxPositions;
  }

  /** The preset called {@code name} ("t5-small", ...). */
  public static ModelPreset byName(String name) {
    for (ModelPreset preset : values()) {
      if (preset.label.equals(name.toLowerCase(Locale.ROOT))) {
        return preset;
      }
    }
    throw new IllegalArgumentException(
        "unknown model preset '"
            + name
            + "'; known presets: "
            + Arrays.stream(values()).map(ModelPreset::label).collect(Collectors.joining(", ")));
  }

  public String label() {
    return label;
  }

  public boolean isT5() {
    return family.equals("t5");
  }

  public int dModel() {
    return dModel;
  }

  public int encoderLayers() {
    return encoderLayers;
  }

  public int decoderLayers() {
    return decoderLayers;
  }

  public int numHeads() {
    return numHeads;
  }

  public int headDim() {
    return headDim;
  }

  public int dFf() {
    return dFf;
  }

  public int vocabSize() {
    return vocabSize;
  }

  public boolean gatedGelu() {
    return gatedGelu;
  }

  /** BART's learned positions (the encoder prompt and decoder limit); T5's tokenizer limit. */
  public int maxPositions() {
    return maxPositions;
  }

  /**
   * FLOPs of one decode step per sequence, weights only (2 per multiply-add): self-attention and
   * cross-attention query/output projections, self K/V projections and the FFN in every decoder
   * layer, plus the LM head. Attention over the cache and cross K/V (computed at prefill) excluded.
   */
  public long decodeFlopsPerToken() {
    long inner = (long) numHeads * headDim;
    long selfAttention = 4 * inner * dModel; // q, k, v, o
    long crossAttention = 2 * inner * dModel; // q, o
    long ffn = (gatedGelu ? 3L : 2L) * dFf * dModel;
    long perLayer = selfAttention + crossAttention + ffn;
    return 2 * (decoderLayers * perLayer + (long) vocabSize * dModel);
  }
}
