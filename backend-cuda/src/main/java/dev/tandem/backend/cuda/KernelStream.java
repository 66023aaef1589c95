package dev.tandem.backend.cuda;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import jcuda.driver.CUfunction;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUstream;
import jcuda.driver.CUstreamCaptureMode;
import jcuda.driver.JCudaDriver;

/**
 * The backend's CUDA stream and the way kernels enter it. By default each {@link #launch} is a
 * cuLaunchKernel. With option {@code cuda.graphs}, launches are recorded instead and enter the
 * stream together when other work must (a copy, a read, a synchronize, a free: every such caller
 * goes through {@link #ordered()}): a list of launches that ran before, byte for byte, is captured
 * into a CUDA graph and from then on replayed with one cuGraphLaunch; a list seen for the first
 * time (a prefill, the first step after a block table grew a column) is launched kernel by kernel.
 * A decode step of t5-small is ~100 small kernels, and at B = 1 their launches' host cost (JNI and
 * driver, a few µs each) is the step's bound.
 */
final class KernelStream implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(KernelStream.class.getName());

  /**
   * Graphs kept (least recently replayed dropped first). A step may flush more than one list, and a
   * multi-step decode has a list per position (each reads the ids chosen at the position before):
   * with num-scheduler-steps 8, a cycle of at least 8 lists that a smaller LRU would never replay.
   */
  private static final int MAX_GRAPHS = 32;

  /** Lists remembered as seen once, waiting for a second sight to be captured. */
  private static final int MAX_SEEN = 64;

  private record Captured(CUgraph graph, CUgraphExec exec) {
    void destroy() {
      JCudaDriver.cuGraphExecDestroy(exec);
      JCudaDriver.cuGraphDestroy(graph);
    }
  }

  private final CUstream stream = new CUstream();
  private final boolean graphs;
  private final LaunchList pending = new LaunchList();
  private final KernelArgs replayArgs = new KernelArgs();
  private final Map<LaunchList, Captured> captured = new LinkedHashMap<>(16, 0.75f, true);
  private final Map<LaunchList, Boolean> seenOnce =
      new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<LaunchList, Boolean> eldest) {
          return size() > MAX_SEEN;
        }
      };
  private long replays;
  private long captures;
  private long launchedOneByOne;

  /** Creates the stream in the current context; blocking, so that synchronous copies order. */
  KernelStream(boolean graphs) {
    this.graphs = graphs;
    JCudaDriver.cuStreamCreate(stream, 0);
  }

  /** Launches (or, with graphs, records) a kernel with a 1-D block; parameters in {@code args}. */
  void launch(
      CUfunction function,
      int gridX,
      int gridY,
      int gridZ,
      int blockThreads,
      int sharedBytes,
      KernelArgs args) {
    if (graphs) {
      pending.add(function, gridX, gridY, gridZ, blockThreads, sharedBytes, args);
    } else {
      CudaKernels.launch(function, gridX, gridY, gridZ, blockThreads, sharedBytes, stream, args);
    }
  }

  /** The stream for work other than kernels, after every recorded launch entered it. */
  CUstream ordered() {
    flush();
    return stream;
  }

  /** Waits until everything launched or recorded so far has run. */
  void synchronize() {
    JCudaDriver.cuStreamSynchronize(ordered());
  }

  private void flush() {
    if (pending.isEmpty()) {
      return;
    }
    try {
      Captured graph = captured.get(pending);
      if (graph != null) {
        JCudaDriver.cuGraphLaunch(graph.exec(), stream);
        replays++;
      } else if (seenOnce.remove(pending) != null) {
        try {
          capture();
        } catch (RuntimeException e) {
          throw new IllegalStateException(
              "cuda.graphs: capturing "
                  + pending.size()
                  + " kernel launches into a CUDA graph failed ("
                  + e.getMessage()
                  + "); without the option (cuda.graphs=false, the default) kernels launch one by"
                  + " one",
              e);
        }
      } else {
        seenOnce.put(pending.copy(), Boolean.TRUE);
        pending.launchAll(stream, replayArgs);
        launchedOneByOne++;
      }
    } finally {
      pending.clear();
    }
  }

  /** Captures the pending launches into a graph, keeps it, and launches it. */
  private void capture() {
    CUgraph graph = new CUgraph();
    JCudaDriver.cuStreamBeginCapture(
        stream, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
    try {
      pending.launchAll(stream, replayArgs);
    } finally {
      JCudaDriver.cuStreamEndCapture(stream, graph);
    }
    CUgraphExec exec = new CUgraphExec();
    try {
      JCudaDriver.cuGraphInstantiate(exec, graph, 0);
    } catch (RuntimeException e) {
      JCudaDriver.cuGraphDestroy(graph);
      throw e;
    }
    captured.put(pending.copy(), new Captured(graph, exec));
    if (captured.size() > MAX_GRAPHS) {
      Iterator<Captured> eldest = captured.values().iterator();
      eldest.next().destroy();
      eldest.remove();
    }
    JCudaDriver.cuGraphLaunch(exec, stream);
    captures++;
  }

  @Override
  public void close() {
    try {
      synchronize();
    } finally {
      captured.values().forEach(Captured::destroy);
      captured.clear();
      JCudaDriver.cuStreamDestroy(stream);
      if (graphs) {
        LOG.log(
            System.Logger.Level.INFO,
            "cuda.graphs: {0} graph replays, {1} captures, {2} launch lists run kernel by kernel",
            replays,
            captures,
            launchedOneByOne);
      }
    }
  }
}
