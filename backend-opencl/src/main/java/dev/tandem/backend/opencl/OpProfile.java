package dev.tandem.backend.opencl;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Where an opencl step's time goes (option {@code opencl.profile=true}, a diagnostic): every op is
 * launched on its own, waited for and timed by its op code; {@link #table()} sums them. Includes
 * each launch's overhead, which is the point on a GPU, where that overhead is measured against the
 * kernels' work.
 */
final class OpProfile {

  /** Op names by op code (DeviceState.OP_*). */
  private static final String[] NAMES = {
    "probe",
    "stage-in",
    "stage-out",
    "stage-in-int",
    "stage-out-int",
    "fill",
    "fill-int",
    "embedding",
    "gemm-4x4",
    "gemm-1x4",
    "add",
    "multiply",
    "scale",
    "activation",
    "rms-norm",
    "layer-norm",
    "greedy-merge",
    "cache-write",
    "attention",
    "blocks-out",
    "blocks-in",
    "copy-blocks",
    "transpose",
    "gemm-strips",
    "greedy-parts",
    "sample",
    "gemm-local",
    "attention-groups"
  };

  private final long[] nanos = new long[NAMES.length];
  private final long[] launches = new long[NAMES.length];

  /** How many op codes have names. */
  static int ops() {
    return NAMES.length;
  }

  void add(int op, long elapsedNanos) {
    nanos[op] += elapsedNanos;
    launches[op]++;
  }

  /** One line per op that ran, most time first: launches, total ms, µs per launch, share. */
  String table() {
    long total = 0;
    List<Integer> ran = new ArrayList<>();
    for (int op = 0; op < NAMES.length; op++) {
      total += nanos[op];
      if (launches[op] > 0) {
        ran.add(op);
      }
    }
    ran.sort(Comparator.comparingLong((Integer op) -> nanos[op]).reversed());
    StringBuilder out =
        new StringBuilder("opencl profile (each op launched alone and waited for)\n");
    out.append(
        String.format(
            "%-14s %9s %11s %11s %7s%n", "op", "launches", "total ms", "us/launch", "share"));
    for (int op : ran) {
      out.append(
          String.format(
              "%-14s %9d %11.1f %11.1f %6.1f%%%n",
              NAMES[op],
              launches[op],
              nanos[op] / 1e6,
              nanos[op] / 1e3 / launches[op],
              100.0 * nanos[op] / Math.max(1, total)));
    }
    return out.toString();
  }
}
