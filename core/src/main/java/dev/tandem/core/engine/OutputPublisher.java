package dev.tandem.core.engine;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A request's stream of outputs for one subscriber: items published before it subscribes are kept
 * for it, delivery follows its demand, and signals are serialized (Reactive Streams rule 1.3)
 * whichever thread publishes or requests. Cancelling the subscription aborts the request.
 */
final class OutputPublisher implements Flow.Publisher<RequestOutput> {

  private final ConcurrentLinkedQueue<RequestOutput> queue = new ConcurrentLinkedQueue<>();
  private final AtomicLong demand = new AtomicLong();
  private final AtomicInteger work = new AtomicInteger();
  private final AtomicBoolean subscribed = new AtomicBoolean();
  private final Runnable onCancel;
  private volatile Flow.Subscriber<? super RequestOutput> subscriber;
  private volatile boolean completed;
  private volatile boolean cancelled;
  private boolean terminated; // guarded by the drain loop's exclusivity

  OutputPublisher(Runnable onCancel) {
    this.onCancel = onCancel;
  }

  @Override
  public void subscribe(Flow.Subscriber<? super RequestOutput> s) {
    if (!subscribed.compareAndSet(false, true)) {
      s.onSubscribe(
          new Flow.Subscription() {
            @Override
            public void request(long n) {}

            @Override
            public void cancel() {}
          });
      s.onError(new IllegalStateException("a request's outputs allow one subscriber"));
      return;
    }
    subscriber = s;
    s.onSubscribe(
        new Flow.Subscription() {
          @Override
          public void request(long n) {
            if (n <= 0) {
              cancelled = true;
              s.onError(new IllegalArgumentException("request(" + n + "): must be positive"));
              return;
            }
            demand.getAndAccumulate(n, (a, b) -> a + b < 0 ? Long.MAX_VALUE : a + b);
            drain();
          }

          @Override
          public void cancel() {
            if (!cancelled) {
              cancelled = true;
              onCancel.run();
            }
          }
        });
    drain();
  }

  void publish(RequestOutput output) {
    queue.add(output);
    drain();
  }

  void complete() {
    completed = true;
    drain();
  }

  private void drain() {
    if (work.getAndIncrement() != 0) {
      return; // another thread is draining and will see the new work
    }
    do {
      Flow.Subscriber<? super RequestOutput> s = subscriber;
      if (s != null && !cancelled && !terminated) {
        while (demand.get() > 0 && !queue.isEmpty() && !cancelled) {
          s.onNext(queue.poll());
          demand.decrementAndGet();
        }
        if (completed && queue.isEmpty() && !cancelled) {
          terminated = true;
          s.onComplete();
        }
      }
    } while (work.decrementAndGet() != 0);
  }
}
