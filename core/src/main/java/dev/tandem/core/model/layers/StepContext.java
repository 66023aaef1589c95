package dev.tandem.core.model.layers;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.AttentionMetadata;
import dev.tandem.api.backend.DeviceTensor;

/**
 * What the blocks of one forward step share.
 *
 * @param encoderOutput the encoder's final hidden states (numEncoderTokens, dModel); read by
 *     cross-attention at prefill
 */
record StepContext(
    AttentionBackend backend,
    Workspace workspace,
    AttentionMetadata metadata,
    DeviceTensor encoderOutput,
    int numEncoderTokens) {}
