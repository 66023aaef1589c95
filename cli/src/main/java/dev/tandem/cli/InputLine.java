package dev.tandem.cli;

import static java.util.Objects.requireNonNull;

import dev.tandem.core.engine.Request;

/** One request to generate for: a prompt of the command line or a line of an input file. */
sealed interface InputLine {

  /** Where it came from, for messages: "line 3" of the input file, or "prompt 2". */
  String origin();

  /** A request ready for the engine. */
  record Valid(String origin, Request request) implements InputLine {
    public Valid {
      requireNonNull(origin, "origin is null");
      requireNonNull(request, "request is null");
    }
  }

  /**
   * A line that could not be read as a request.
   *
   * @param requestId its request_id, when it could be read; else null
   * @param prompt its prompt text, when it could be read; else null
   */
  record Invalid(String origin, String requestId, String prompt, String message)
      implements InputLine {
    public Invalid {
      requireNonNull(origin, "origin is null");
      requireNonNull(message, "message is null");
    }
  }
}
