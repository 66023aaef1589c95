package dev.tandem.core.engine;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * An {@link Engine} driven by its own loop thread, for many callers: {@link #submit} from any
 * thread returns at once with a {@link RequestHandle}; the loop adds requests between steps, steps
 * while any request is unfinished and sleeps otherwise. Rejected requests (see {@link Engine})
 * complete with a finished output whose finish reason is ERROR. {@link #close} aborts what is
 * unfinished, stops the loop and closes the engine, freeing its device memory.
 */
public final class AsyncEngine implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(AsyncEngine.class.getName());

  private sealed interface Command {}

  private record Submit(Request request, RequestHandle handle) implements Command {}

  private record Abort(String requestId) implements Command {}

  private record Stop() implements Command {}

  private final Engine engine;
  private final LinkedBlockingQueue<Command> commands = new LinkedBlockingQueue<>();
  private final Map<String, RequestHandle> handles = new HashMap<>(); // loop thread only
  private final Thread loop;
  private volatile boolean closed;

  /** Takes ownership of {@code engine}, which no other thread may use afterwards. */
  public AsyncEngine(Engine engine) {
    this.engine = requireNonNull(engine, "engine is null");
    this.loop = Thread.ofPlatform().name("tandem-engine-loop").daemon().start(this::run);
  }

  /**
   * Queues a request.
   *
   * @throws IllegalStateException if the engine is closed
   */
  public RequestHandle submit(Request request) {
    requireNonNull(request, "request is null");
    RequestHandle handle =
        new RequestHandle(request.requestId(), () -> commands.add(new Abort(request.requestId())));
    synchronized (this) {
      if (closed) {
        throw new IllegalStateException("the engine is closed");
      }
      commands.add(new Submit(request, handle));
    }
    return handle;
  }

  /** Aborts an unfinished request; its handle completes with finish reason ABORT. */
  public void abort(String requestId) {
    commands.add(new Abort(requireNonNull(requestId, "requestId is null")));
  }

  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      commands.add(new Stop());
    }
    try {
      loop.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void run() {
    try {
      boolean running = true;
      while (running) {
        Command first =
            engine.hasUnfinished() ? commands.poll() : commands.poll(1, TimeUnit.SECONDS);
        List<Command> batch = new ArrayList<>();
        if (first != null) {
          batch.add(first);
          commands.drainTo(batch);
        }
        for (Command command : batch) {
          running &= apply(command);
        }
        if (running && engine.hasUnfinished()) {
          dispatch(engine.step());
        }
      }
      shutDown();
    } catch (Throwable e) {
      LOG.log(System.Logger.Level.ERROR, "the engine loop failed; failing every request", e);
      handles.values().forEach(h -> h.fail(e));
      handles.clear();
      for (Command command : commands) {
        if (command instanceof Submit(Request r, RequestHandle h)) {
          h.fail(e);
        }
      }
      closed = true;
      engine.close();
    }
  }

  private boolean apply(Command command) {
    switch (command) {
      case Submit(Request request, RequestHandle handle) -> {
        try {
          engine.addRequest(request);
          handles.put(request.requestId(), handle);
        } catch (IllegalArgumentException e) {
          handle.deliver(Engine.rejected(request, e.getMessage()));
        }
      }
      case Abort(String requestId) -> {
        if (handles.containsKey(requestId)) {
          engine.abort(requestId);
        }
      }
      case Stop() -> {
        return false;
      }
    }
    return true;
  }

  private void dispatch(List<RequestOutput> outputs) {
    for (RequestOutput output : outputs) {
      RequestHandle handle =
          output.finished() ? handles.remove(output.requestId()) : handles.get(output.requestId());
      if (handle != null) {
        handle.deliver(output);
      }
    }
  }

  /** Aborts everything unfinished, answers late submissions, closes the engine. */
  private void shutDown() {
    for (String requestId : List.copyOf(handles.keySet())) {
      engine.abort(requestId);
    }
    while (engine.hasUnfinished()) {
      dispatch(engine.step());
    }
    for (Command command : commands) {
      if (command instanceof Submit(Request request, RequestHandle handle)) {
        handle.deliver(Engine.rejected(request, "the engine was closed before it started"));
      }
    }
    engine.close();
  }
}
