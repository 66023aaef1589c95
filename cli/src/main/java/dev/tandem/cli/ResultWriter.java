package dev.tandem.cli;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.core.engine.CompletionOutput;
import dev.tandem.core.engine.RequestOutput;
import dev.tandem.core.sampling.PositionLogprobs;
import java.io.PrintWriter;

/**
 * Writes finished requests to stdout in input order, each as soon as those before it are written.
 * As JSON, one object per request:
 *
 * <pre>{@code
 * {"request_id": "0", "prompt": "to words: 12",
 *  "outputs": [{"text": "twelve", "token_ids": [..], "cumulative_logprob": -0.01,
 *               "logprobs": null, "finish_reason": "stop"}]}
 * }</pre>
 *
 * where {@code token_ids} are the generated tokens only (no decoder start token) and {@code
 * logprobs} the chosen token's log-probability per generated token, or null unless asked for. A
 * request that failed has an {@code "error"} with the reason. As text, each output's text on a line
 * of its own, and {@code error: <reason>} for a failed request.
 */
final class ResultWriter {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final PrintWriter out;
  private final boolean json;
  private final Object[] results; // RequestOutput or String (an error), by input position
  private int next;
  private int failures;

  ResultWriter(PrintWriter out, boolean json, int count) {
    this.out = requireNonNull(out, "out is null");
    this.json = json;
    this.results = new Object[count];
  }

  /** The finished output of the request at {@code position}. */
  void finished(int position, RequestOutput output) {
    requireNonNull(output, "output is null");
    if (output.failed()) {
      failures++;
    }
    put(position, output);
  }

  /** The request at {@code position} could not be run; {@code message} says why. */
  void failed(int position, InputLine input, String message) {
    failures++;
    put(position, new Failure(input, message));
  }

  /** How many requests failed so far. */
  int failures() {
    return failures;
  }

  private record Failure(InputLine input, String message) {}

  private void put(int position, Object result) {
    if (results[position] != null) {
      throw new IllegalStateException("request at position " + position + " finished twice");
    }
    results[position] = result;
    while (next < results.length && results[next] != null) {
      out.println(format(results[next]));
      results[next++] = Boolean.TRUE; // written; keep the slot non-null
    }
    out.flush();
  }

  private String format(Object result) {
    return switch (result) {
      case RequestOutput output -> json ? json(output) : text(output);
      case Failure failure -> json ? json(failure) : "error: " + failure.message();
      default -> throw new IllegalStateException("unexpected result " + result);
    };
  }

  private static String text(RequestOutput output) {
    if (output.failed()) {
      return "error: " + errorMessage(output);
    }
    StringBuilder text = new StringBuilder();
    for (CompletionOutput completion : output.outputs()) {
      if (!text.isEmpty()) {
        text.append('\n');
      }
      text.append(completion.text());
    }
    return text.toString();
  }

  private static String json(RequestOutput output) {
    ObjectNode node = JSON.createObjectNode();
    node.put("request_id", output.requestId());
    node.put("prompt", output.prompt());
    ArrayNode outputs = node.putArray("outputs");
    for (CompletionOutput completion : output.outputs()) {
      ObjectNode o = outputs.addObject();
      o.put("text", completion.text());
      ArrayNode ids = o.putArray("token_ids");
      for (int id : completion.tokenIds()) {
        ids.add(id);
      }
      o.put("cumulative_logprob", completion.cumulativeLogprob());
      if (completion.logprobs() == null) {
        o.putNull("logprobs");
      } else {
        ArrayNode logprobs = o.putArray("logprobs");
        for (PositionLogprobs position : completion.logprobs()) {
          logprobs.add(position.chosen().logprob());
        }
      }
      o.put(
          "finish_reason",
          completion.finishReason() == null ? null : completion.finishReason().label());
    }
    if (output.failed()) {
      node.put("error", errorMessage(output));
    }
    return write(node);
  }

  private static String json(Failure failure) {
    ObjectNode node = JSON.createObjectNode();
    switch (failure.input()) {
      case InputLine.Valid valid -> {
        node.put("request_id", valid.request().requestId());
        node.put(
            "prompt",
            valid.request().encoderPrompt() instanceof dev.tandem.core.engine.Prompt.Text t
                ? t.text()
                : null);
      }
      case InputLine.Invalid invalid -> {
        node.put("request_id", invalid.requestId());
        node.put("prompt", invalid.prompt());
      }
    }
    node.putArray("outputs");
    node.put("error", failure.message());
    return write(node);
  }

  private static String errorMessage(RequestOutput output) {
    return output.outputs().stream()
        .filter(o -> o.finishMessage() != null)
        .map(CompletionOutput::finishMessage)
        .findFirst()
        .orElse("failed");
  }

  private static String write(ObjectNode node) {
    try {
      return JSON.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write JSON", e);
    }
  }
}
