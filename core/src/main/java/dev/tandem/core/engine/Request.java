package dev.tandem.core.engine;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.sequence.SamplingParams;

/**
 * One generation request.
 *
 * @param requestId unique among the requests an engine has not finished yet
 * @param encoderPrompt the encoder's input; must not be empty
 * @param decoderPrompt the decoder's first tokens, or null for {@code [decoder_start_token_id]}
 * @param samplingParams how to choose tokens; {@code max_tokens} null means the model's default
 */
public record Request(
    String requestId, Prompt encoderPrompt, Prompt decoderPrompt, SamplingParams samplingParams) {

  public Request {
    requireNonNull(requestId, "requestId is null");
    requireNonNull(encoderPrompt, "encoderPrompt is null");
    requireNonNull(samplingParams, "samplingParams is null");
  }

  /** A request for {@code text} with the default decoder prompt. */
  public static Request of(String requestId, String text, SamplingParams params) {
    return new Request(requestId, Prompt.text(text), null, params);
  }

  /** A request for encoder token ids with the default decoder prompt. */
  public static Request ofTokens(String requestId, int[] encoderIds, SamplingParams params) {
    return new Request(requestId, Prompt.tokens(encoderIds), null, params);
  }

  public Request withDecoderPrompt(Prompt prompt) {
    return new Request(requestId, encoderPrompt, prompt, samplingParams);
  }

  public Request withSamplingParams(SamplingParams params) {
    return new Request(requestId, encoderPrompt, decoderPrompt, params);
  }
}
