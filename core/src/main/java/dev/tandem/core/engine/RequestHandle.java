package dev.tandem.core.engine;

import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;

/**
 * A request submitted to an {@link AsyncEngine}: its stream of partial outputs (the last one
 * finished) and a future of the final output. Cancelling the future, calling {@link #cancel}, or
 * cancelling the stream's subscription aborts the request and frees its blocks.
 */
public final class RequestHandle {

  private final String requestId;
  private final OutputPublisher publisher;
  private final CompletableFuture<RequestOutput> result = new CompletableFuture<>();

  RequestHandle(String requestId, Runnable abort) {
    this.requestId = requestId;
    this.publisher = new OutputPublisher(abort);
    result.whenComplete(
        (output, error) -> {
          if (error instanceof CancellationException) {
            abort.run();
          }
        });
  }

  public String requestId() {
    return requestId;
  }

  /**
   * The outputs after each step that touched the request, ending with the finished one; one
   * subscriber, which receives every output since submission. Delivered on the engine's loop
   * thread: subscribers must not block.
   */
  public Flow.Publisher<RequestOutput> outputs() {
    return publisher;
  }

  /** Completes with the finished output (finish reason ERROR if the request was rejected). */
  public CompletableFuture<RequestOutput> result() {
    return result;
  }

  /** Aborts the request; its final output has finish reason ABORT unless it already finished. */
  public boolean cancel() {
    return result.cancel(false);
  }

  void deliver(RequestOutput output) {
    publisher.publish(output);
    if (output.finished()) {
      publisher.complete();
      result.complete(output);
    }
  }

  void fail(Throwable error) {
    publisher.complete();
    result.completeExceptionally(error);
  }
}
