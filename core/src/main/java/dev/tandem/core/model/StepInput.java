package dev.tandem.core.model;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.backend.AttentionMetadata;

/**
 * One step's host-side inputs, packed without padding in the order of the metadata's sequences. The
 * arrays may be longer than the counts they hold (the runner reuses them); only the first {@code
 * metadata.numEncoderTokens()}, {@code metadata.numDecoderTokens()} and {@code numLogitRows}
 * entries are read.
 *
 * @param encoderTokens encoder token ids (prefill only)
 * @param encoderPositions each encoder token's position within its sequence (prefill only)
 * @param decoderTokens decoder token ids: whole sequences at prefill, one per sequence at decode
 * @param decoderPositions each decoder token's position within its sequence
 * @param logitRows indexes of the decoder tokens whose logits are wanted, in output order
 * @param decoderTokensChosen decode only: the decoder's input tokens are those the model's last
 *     {@link EncoderDecoderModel#choose} chose, one per row, still on the backend; decoderTokens is
 *     not read (the next position of a multi-step decode, without a round trip through the host)
 */
public record StepInput(
    AttentionMetadata metadata,
    int[] encoderTokens,
    int[] encoderPositions,
    int[] decoderTokens,
    int[] decoderPositions,
    int[] logitRows,
    int numLogitRows,
    boolean decoderTokensChosen) {

  public StepInput {
    requireNonNull(metadata, "metadata is null");
    requireNonNull(encoderTokens, "encoderTokens is null");
    requireNonNull(encoderPositions, "encoderPositions is null");
    requireNonNull(decoderTokens, "decoderTokens is null");
    requireNonNull(decoderPositions, "decoderPositions is null");
    requireNonNull(logitRows, "logitRows is null");
    int nEncoder = metadata.numEncoderTokens();
    int nDecoder = metadata.numDecoderTokens();
    if (encoderTokens.length < nEncoder || encoderPositions.length < nEncoder) {
      throw new IllegalArgumentException(
          "encoder arrays hold fewer than the metadata's " + nEncoder + " encoder tokens");
    }
    if (decoderTokens.length < nDecoder || decoderPositions.length < nDecoder) {
      throw new IllegalArgumentException(
          "decoder arrays hold fewer than the metadata's " + nDecoder + " decoder tokens");
    }
    if (decoderTokensChosen && metadata.prefill()) {
      throw new IllegalArgumentException("a prefill's decoder tokens come from the host");
    }
    if (numLogitRows < 0 || numLogitRows > logitRows.length) {
      throw new IllegalArgumentException(
          "numLogitRows=" + numLogitRows + " outside [0, " + logitRows.length + "]");
    }
  }
}
