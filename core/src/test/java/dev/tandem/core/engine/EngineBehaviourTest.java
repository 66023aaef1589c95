package dev.tandem.core.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.core.config.PreemptionMode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Request handling, outputs and bad input, on the toy model. */
class EngineBehaviourTest {

  private static Engine engine() {
    return ToyModel.engine(
        ToyModel.blockManagers().findFirst().orElseThrow(),
        400,
        100,
        PreemptionMode.RECOMPUTE,
        32,
        128);
  }

  private static final SamplingParams GREEDY = SamplingParams.builder().maxTokens(10).build();

  @Test
  void greedyOutputsAreCompleteAndConsistent() {
    try (Engine engine = engine()) {
      RequestOutput out =
          engine.generate(List.of(Request.of("a", "hello big world", GREEDY))).getFirst();
      assertTrue(out.finished());
      CompletionOutput c = out.first();
      int[] ids = c.tokenIds();
      assertTrue(ids.length >= 1 && ids.length <= 10);
      assertEquals(new ToyModel.ToyTokenizer(64).decode(ids, true), c.text());
      assertEquals(
          ids.length == 10 && ids[9] != ToyModel.EOS ? FinishReason.LENGTH : c.finishReason(),
          c.finishReason());
      assertArrayEquals(
          new ToyModel.ToyTokenizer(64).encode("hello big world"), out.promptTokenIds());
      assertEquals("hello big world", out.prompt());
      assertTrue(out.metrics().timeToFirstToken().toNanos() > 0);
      assertEquals(ids.length, out.metrics().tokenNanos().length);
    }
  }

  @Test
  void streamingOutputsGrowAndEndOnce() {
    try (Engine engine = engine()) {
      engine.addRequest(
          Request.of(
              "a",
              "one two three",
              SamplingParams.builder().maxTokens(12).ignoreEos(true).build()));
      List<RequestOutput> seen = new ArrayList<>();
      while (engine.hasUnfinished()) {
        seen.addAll(engine.step());
      }
      assertEquals(12, seen.size()); // one output per step: prefill + 11 decodes
      for (int i = 0; i < seen.size(); i++) {
        assertEquals(i + 1, seen.get(i).first().tokenIds().length);
        assertEquals(i == seen.size() - 1, seen.get(i).finished());
        assertTrue(seen.getLast().first().text().startsWith(seen.get(i).first().text()));
      }
      assertEquals(FinishReason.LENGTH, seen.getLast().first().finishReason());
    }
  }

  @Test
  void stopStringsAndStopTokensEndWithTheirReason() {
    try (Engine engine = engine()) {
      RequestOutput free =
          engine
              .generate(
                  List.of(
                      Request.of(
                          "f",
                          "x y",
                          SamplingParams.builder().maxTokens(20).ignoreEos(true).build())))
              .getFirst();
      int[] ids = free.first().tokenIds();
      int stopToken = ids[3];
      int firstAt = Arrays.stream(ids).boxed().toList().indexOf(stopToken);
      RequestOutput byToken =
          engine
              .generate(
                  List.of(
                      Request.of(
                          "t",
                          "x y",
                          SamplingParams.builder()
                              .maxTokens(20)
                              .ignoreEos(true)
                              .stopTokenIds(List.of(stopToken))
                              .build())))
              .getFirst();
      assertEquals(FinishReason.STOP, byToken.first().finishReason());
      assertEquals(String.valueOf(stopToken), byToken.first().finishMessage());
      assertArrayEquals(Arrays.copyOf(ids, firstAt + 1), byToken.first().tokenIds());

      String word = "w" + stopToken;
      RequestOutput byString =
          engine
              .generate(
                  List.of(
                      Request.of(
                          "s",
                          "x y",
                          SamplingParams.builder()
                              .maxTokens(20)
                              .ignoreEos(true)
                              .stop(List.of(word))
                              .build())))
              .getFirst();
      assertEquals(FinishReason.STOP, byString.first().finishReason());
      assertEquals(word, byString.first().finishMessage());
      assertFalse(byString.first().text().contains(word));
      assertTrue(free.first().text().startsWith(byString.first().text()));
    }
  }

  @Test
  void logprobsAreReturnedPerToken() {
    try (Engine engine = engine()) {
      RequestOutput out =
          engine
              .generate(
                  List.of(
                      Request.of(
                          "l", "a b", SamplingParams.builder().maxTokens(6).logprobs(3).build())))
              .getFirst();
      var c = out.first();
      assertEquals(c.tokenIds().length, c.logprobs().size());
      double sum = 0;
      for (int i = 0; i < c.logprobs().size(); i++) {
        var position = c.logprobs().get(i);
        assertEquals(c.tokenIds()[i], position.chosen().token());
        assertEquals(3, position.top().size());
        assertEquals(position.top().getFirst().token(), position.chosen().token()); // greedy
        sum += position.chosen().logprob();
      }
      assertEquals(c.cumulativeLogprob(), sum, 1e-9);
    }
  }

  @Test
  void seededSamplingIsReproducibleAcrossRunsAndBatches() {
    SamplingParams seeded =
        SamplingParams.builder().temperature(1.0).seed(77L).maxTokens(20).n(2).build();
    Request target = Request.of("target", "alpha beta gamma", seeded);
    List<CompletionOutput> alone;
    try (Engine engine = engine()) {
      alone = engine.generate(List.of(target)).getFirst().outputs();
    }
    Random random = new Random(3);
    List<Request> crowd = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      crowd.add(
          Request.ofTokens(
              "c" + i,
              random.ints(5 + i, 3, 64).toArray(),
              SamplingParams.builder().temperature(0.7).maxTokens(15).build()));
    }
    crowd.add(7, target);
    try (Engine engine = engine()) {
      List<RequestOutput> outs = engine.generate(crowd);
      assertEquals(alone, outs.get(7).outputs());
    }
  }

  @Test
  void nSequencesDiffer() {
    try (Engine engine = engine()) {
      RequestOutput out =
          engine
              .generate(
                  List.of(
                      Request.of(
                          "n",
                          "p q r",
                          SamplingParams.builder()
                              .n(4)
                              .temperature(1.0)
                              .maxTokens(16)
                              .ignoreEos(true)
                              .build())))
              .getFirst();
      assertEquals(4, out.outputs().size());
      Set<List<Integer>> distinct = new HashSet<>();
      for (int i = 0; i < 4; i++) {
        assertEquals(i, out.outputs().get(i).index());
        distinct.add(Arrays.stream(out.outputs().get(i).tokenIds()).boxed().toList());
      }
      assertTrue(distinct.size() > 1, "all 4 samples were equal");
      EnginePressureTest.assertAllBlocksFree(engine);
    }
  }

  @Test
  void abortEndsTheRequestOnceAndFreesItsBlocks() {
    try (Engine engine = engine()) {
      engine.addRequest(
          Request.of("x", "a b c", SamplingParams.builder().maxTokens(50).ignoreEos(true).build()));
      engine.addRequest(Request.of("y", "a b c", SamplingParams.builder().maxTokens(5).build()));
      engine.step();
      engine.step();
      assertTrue(engine.abort("x"));
      assertFalse(engine.abort("x"));
      List<RequestOutput> finals = new ArrayList<>();
      while (engine.hasUnfinished()) {
        engine.step().stream().filter(RequestOutput::finished).forEach(finals::add);
      }
      assertEquals(2, finals.size());
      RequestOutput x =
          finals.stream().filter(o -> o.requestId().equals("x")).findFirst().orElseThrow();
      assertEquals(FinishReason.ABORT, x.first().finishReason());
      assertEquals(2, x.first().tokenIds().length);
      EnginePressureTest.assertAllBlocksFree(engine);
    }
  }

  @Test
  void badInputIsRejectedClearlyWhileOthersAreServed() {
    try (Engine engine = engine()) {
      engine.addRequest(Request.of("ok", "fine prompt", GREEDY));
      assertMessage(
          () -> engine.addRequest(Request.ofTokens("empty", new int[0], GREEDY)), "empty");
      assertMessage(() -> engine.addRequest(Request.of("blank", "", GREEDY)), "empty");
      assertMessage(
          () -> engine.addRequest(Request.ofTokens("long", new int[129], GREEDY)),
          "129 tokens, more than the 128");
      assertMessage(
          () -> engine.addRequest(Request.of("ok", "again", GREEDY)), "'ok' is already used");
      assertMessage(
          () -> engine.addRequest(Request.ofTokens("vocab", new int[] {5, 64}, GREEDY)),
          "token id 64 is outside the vocabulary [0, 64)");
      assertMessage(
          () -> SamplingParams.builder().topP(1.5).build(), "top_p=1.5: must be in (0, 1]");
      assertMessage(() -> SamplingParams.builder().temperature(-1).build(), "temperature");
      assertMessage(
          () -> SamplingParams.builder().noRepeatNgramSize(-1).build(),
          "no_repeat_ngram_size=-1: must be >= 0");
      assertMessage(
          () -> SamplingParams.builder().badWordsIds(List.of(List.of())).build(),
          "bad_words_ids=[]: each entry must be a non-empty list of token ids >= 0");
      assertMessage(
          () ->
              engine.addRequest(
                  Request.of(
                      "bad",
                      "x",
                      SamplingParams.builder().badWordsIds(List.of(List.of(64))).build())),
          "bad_words_ids token id 64 is outside the vocabulary [0, 64)");
      assertMessage(
          () ->
              engine.addRequest(
                  Request.of(
                      "beam", "x", SamplingParams.builder().numBeams(2).temperature(1).build())),
          "beam search");
      assertMessage(
          () ->
              engine.addRequest(
                  Request.of(
                      "beam3",
                      "x",
                      SamplingParams.builder().numBeams(2).presencePenalty(0.5).build())),
          "not presence_penalty or frequency_penalty");
      assertMessage(
          () ->
              engine.addRequest(
                  Request.of("min", "x", SamplingParams.builder().minTokens(500).build())),
          "min_tokens=500");
      List<RequestOutput> outs = new ArrayList<>();
      while (engine.hasUnfinished()) {
        outs.addAll(engine.step());
      }
      assertTrue(outs.getLast().finished());
      assertEquals("ok", outs.getLast().requestId());
      assertFalse(outs.getLast().failed());
    }
  }

  @Test
  void aRequestThatCanNeverFitFailsWhileOthersRun() {
    try (Engine engine =
        ToyModel.engine(
            ToyModel.blockManagers().findFirst().orElseThrow(),
            20,
            10,
            PreemptionMode.RECOMPUTE,
            8,
            128)) {
      List<RequestOutput> outs =
          engine.generate(
              List.of(
                  Request.of("small", "a b", GREEDY),
                  Request.ofTokens("huge", new int[100], GREEDY),
                  Request.ofTokens("dup", new int[] {4}, GREEDY),
                  Request.ofTokens("dup", new int[] {5}, GREEDY),
                  Request.of("after", "c d", GREEDY)));
      assertFalse(outs.get(0).failed());
      assertTrue(outs.get(1).failed());
      String message = outs.get(1).first().finishMessage();
      assertTrue(
          message.contains("needs 26 blocks") && message.contains("the cache has 20"), message);
      assertFalse(outs.get(2).failed());
      assertTrue(outs.get(3).failed());
      assertTrue(outs.get(3).first().finishMessage().contains("already used"));
      assertFalse(outs.get(4).failed());
      EnginePressureTest.assertAllBlocksFree(engine);
    }
  }

  @Test
  void decoderPromptsGetTheStartToken() {
    try (Engine engine = engine()) {
      var params = SamplingParams.builder().maxTokens(3).ignoreEos(true).build();
      List<RequestOutput> outs =
          engine.generate(
              List.of(
                  Request.of("d0", "a b", params),
                  Request.of("d1", "a b", params)
                      .withDecoderPrompt(Prompt.tokens(ToyModel.DECODER_START)),
                  Request.of("d2", "a b", params).withDecoderPrompt(Prompt.tokens(7, 8))));
      assertEquals(outs.get(0).outputs(), outs.get(1).outputs());
      assertNotEquals(outs.get(0).first().text(), outs.get(2).first().text());
    }
  }

  @Test
  void defaultSamplingParamsComeFromTheGenerationConfig() {
    try (Engine engine = engine()) {
      SamplingParams defaults = engine.defaultSamplingParams().build();
      assertEquals(24, defaults.maxTokens()); // the toy config's max_new_tokens
      assertTrue(defaults.isGreedy());
      RequestOutput out =
          engine
              .generate(
                  List.of(
                      Request.of("d", "x y z", SamplingParams.builder().ignoreEos(true).build())))
              .getFirst();
      assertEquals(24, out.first().tokenIds().length); // max_tokens unset: the same default
    }
  }

  @Test
  void closingClosesTheModel() {
    Engine engine = engine();
    engine.close();
    assertThrows(
        IllegalStateException.class, () -> engine.addRequest(Request.of("z", "a", GREEDY)));
  }

  /**
   * Bans can leave no token at all (here: no token twice, over the toy's 64-token vocabulary, past
   * 63 tokens): that request ends with an error naming the cause and keeps what it generated, for
   * greedy, sampled and beam rows alike; the other request of the batch goes on and no block leaks.
   */
  @Test
  void bansThatLeaveNoTokenFailThatRequestAlone() {
    SamplingParams.Builder everyTokenOnce =
        SamplingParams.builder().maxTokens(100).ignoreEos(true).noRepeatNgramSize(1);
    List<SamplingParams> kinds =
        List.of(
            everyTokenOnce.build(),
            everyTokenOnce.temperature(1).seed(3L).build(),
            everyTokenOnce.temperature(0).numBeams(2).build());
    for (SamplingParams params : kinds) {
      try (Engine engine = engine()) {
        List<RequestOutput> outs =
            engine.generate(
                List.of(
                    Request.ofTokens("banned", new int[] {5, 6}, params),
                    Request.ofTokens("other", new int[] {5, 6}, GREEDY)));
        CompletionOutput banned = outs.get(0).first();
        assertEquals(FinishReason.ERROR, banned.finishReason(), params::toString);
        assertEquals(
            "request 'banned': no token is allowed after 63 generated tokens:"
                + " no_repeat_ngram_size and bad_words_ids ban every token of the vocabulary",
            banned.finishMessage());
        if (!params.isBeamSearch()) {
          assertEquals(63, banned.tokenIds().length, "the tokens before stay in the output");
          assertEquals(63, Arrays.stream(banned.tokenIds()).distinct().count());
        }
        assertNotEquals(FinishReason.ERROR, outs.get(1).first().finishReason());
        assertTrue(outs.get(1).first().tokenIds().length > 0);
        EnginePressureTest.assertAllBlocksFree(engine);
      }
    }
  }

  private static void assertMessage(org.junit.jupiter.api.function.Executable call, String part) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().contains(part), e.getMessage());
  }
}
