package dev.tandem.cli;

import dev.tandem.api.sequence.SamplingParams;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * Sampling flags, with vLLM's names and meanings. Unset flags keep the model's defaults (its {@code
 * generation_config.json}); an input file's lines may override them per request.
 */
final class SamplingOptions {

  @Option(
      names = "--max-tokens",
      paramLabel = "N",
      description = "most tokens to generate (default: the model's max_new_tokens)")
  Integer maxTokens;

  @Option(
      names = "--min-tokens",
      paramLabel = "N",
      description =
          "EOS and stop tokens are suppressed until this many were generated (default: the"
              + " model's min_new_tokens, else min_length less the decoder prompt)")
  Integer minTokens;

  @Option(names = "--temperature", paramLabel = "T", description = "0 is greedy (default)")
  Double temperature;

  @Option(names = "--top-p", paramLabel = "P", description = "nucleus sampling, in (0, 1]")
  Double topP;

  @Option(names = "--top-k", paramLabel = "K", description = "sample among the K most likely")
  Integer topK;

  @Option(names = "--min-p", paramLabel = "P", description = "minimum relative probability")
  Double minP;

  @Option(names = "--seed", paramLabel = "SEED", description = "random seed per request")
  Long seed;

  @Option(names = "--n", paramLabel = "N", description = "output sequences per prompt")
  Integer n;

  @Option(names = "--num-beams", paramLabel = "N", description = "beam search with N beams")
  Integer numBeams;

  @Option(
      names = "--length-penalty",
      paramLabel = "X",
      description = "beam search: score = logprob / length^X")
  Double lengthPenalty;

  @Option(
      names = "--repetition-penalty",
      paramLabel = "X",
      description = "> 1 discourages repeating tokens")
  Double repetitionPenalty;

  @Option(
      names = "--no-repeat-ngram-size",
      paramLabel = "N",
      description = "no n-gram of N tokens occurs twice in the output (0: off)")
  Integer noRepeatNgramSize;

  @Option(
      names = "--bad-word",
      paramLabel = "TEXT",
      description = "never generate TEXT (repeatable)")
  List<String> badWords = new ArrayList<>();

  @Option(
      names = "--logprobs",
      description = "report each generated token's log-probability (--json)")
  boolean logprobs;

  @Option(names = "--ignore-eos", description = "keep generating after EOS")
  boolean ignoreEos;

  @Option(
      names = "--stop",
      paramLabel = "TEXT",
      description = "stop when the output contains TEXT (repeatable)")
  List<String> stop = new ArrayList<>();

  @Option(
      names = "--stop-token-id",
      paramLabel = "ID",
      description = "stop at this token id (repeatable)")
  List<Integer> stopTokenIds = new ArrayList<>();

  /** {@code base} with the flags that were given. */
  SamplingParams.Builder applyTo(SamplingParams.Builder base) {
    if (maxTokens != null) {
      base.maxTokens(maxTokens);
    }
    if (minTokens != null) {
      base.minTokens(minTokens);
    }
    if (temperature != null) {
      base.temperature(temperature);
    }
    if (topP != null) {
      base.topP(topP);
    }
    if (topK != null) {
      base.topK(topK);
    }
    if (minP != null) {
      base.minP(minP);
    }
    if (seed != null) {
      base.seed(seed);
    }
    if (n != null) {
      base.n(n);
    }
    if (numBeams != null) {
      base.numBeams(numBeams);
    }
    if (lengthPenalty != null) {
      base.lengthPenalty(lengthPenalty);
    }
    if (repetitionPenalty != null) {
      base.repetitionPenalty(repetitionPenalty);
    }
    if (noRepeatNgramSize != null) {
      base.noRepeatNgramSize(noRepeatNgramSize);
    }
    if (!badWords.isEmpty()) {
      base.badWords(badWords);
    }
    if (logprobs) {
      base.logprobs(0);
    }
    if (ignoreEos) {
      base.ignoreEos(true);
    }
    if (!stop.isEmpty()) {
      base.stop(stop);
    }
    if (!stopTokenIds.isEmpty()) {
      base.stopTokenIds(stopTokenIds);
    }
    return base;
  }
}
