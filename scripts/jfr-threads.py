#!/usr/bin/env python3
"""Where the cpu backend's threads spend a benchmark run, from a JFR recording.

    scripts/jfr-threads.py RECORDING.jfr [--skip FRACTION]

Record with `TANDEM_JAVA_OPTS="-XX:StartFlightRecording=filename=R.jfr,settings=scripts/gpu/sampling.jfc"
tandem bench ...` (gpu-check.sh records its cpu runs so). Needs the JDK's `jfr` tool ($JAVA_HOME/bin
or PATH). --skip drops the first FRACTION of the samples (default 0.5: `tandem bench` warms up with
the whole workload, so the second half is the measured run).

Prints, from the execution samples (JFR samples running threads only; a parked thread is not seen):
- the calling thread ("main"): the share of its samples running chunks of a parallel loop of the
  worker pool, waiting at a loop's end for the other threads' chunks, and outside any loop
  (serial: the other threads wait), with the serial code by its innermost Tandem method. With T threads, a serial share s of a 2-thread run becomes about
  s / (s + (1 - s) * 2 / T) of the step.
- the worker threads (tandem-cpu-N): running chunks against spinning for the next loop.
- the innermost Tandem method of every sample, all threads: the kernels' shares.
"""
import argparse
import collections
import os
import re
import shutil
import subprocess
import sys


def jfr_tool():
    home = os.environ.get("JAVA_HOME")
    if home and os.path.exists(os.path.join(home, "bin", "jfr")):
        return os.path.join(home, "bin", "jfr")
    found = shutil.which("jfr")
    if not found:
        sys.exit("no jfr tool: set JAVA_HOME to a JDK")
    return found


def samples(path):
    """(start time, thread name, frames innermost first) of every execution sample."""
    text = subprocess.run(
        [jfr_tool(), "print", "--stack-depth", "64", "--events", "jdk.ExecutionSample", path],
        check=True, capture_output=True, text=True).stdout
    for event in text.split("jdk.ExecutionSample {")[1:]:
        start = re.search(r"startTime = (\S+ \S+)", event)
        thread = re.search(r'sampledThread = "([^"]*)"', event)
        frames = re.findall(r"^\s+([\w.$<>]+)\(", event, re.M)
        yield (start.group(1) if start else "", thread.group(1) if thread else "?", frames)


def tandem(frames):
    return [f for f in frames if f.startswith("dev.tandem.")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recording")
    parser.add_argument("--skip", type=float, default=0.5)
    args = parser.parse_args()
    recs = sorted(samples(args.recording))
    recs = recs[int(len(recs) * args.skip):]

    running = waiting = serial = 0
    serial_code = collections.Counter()
    workers = collections.Counter()
    leaves = collections.Counter()
    for _, thread, frames in recs:
        ours = tandem(frames)
        if not ours:
            continue
        leaves[ours[0]] += 1
        if thread.startswith("tandem-cpu-"):
            busy = any(f.endswith("WorkerPool$Job.claimChunks") for f in ours)
            workers["running chunks" if busy else "waiting for a loop"] += 1
        elif thread == "main":
            if any(f.endswith("WorkerPool$Job.claimChunks") for f in ours):
                running += 1
            elif any(f.endswith("WorkerPool.forRange") for f in ours):
                waiting += 1
            else:
                serial += 1
                serial_code[ours[0]] += 1

    main_total = max(1, running + waiting + serial)
    print(f"samples after skipping {args.skip:.0%}: {len(recs)}")
    print(f"main, of its {main_total} Tandem samples: running chunks "
          f"{100.0 * running / main_total:.1f} %, waiting at a loop's end "
          f"{100.0 * waiting / main_total:.1f} %, serial {100.0 * serial / main_total:.1f} %")
    for method, count in serial_code.most_common(12):
        print(f"  serial {100.0 * count / main_total:5.1f} %  {method}")
    worker_total = max(1, sum(workers.values()))
    for what, count in workers.most_common():
        print(f"workers: {what} {100.0 * count / worker_total:.1f} % ({count})")
    leaf_total = max(1, sum(leaves.values()))
    print("innermost Tandem method, all threads:")
    for method, count in leaves.most_common(15):
        print(f"  {100.0 * count / leaf_total:5.1f} %  {method}")


if __name__ == "__main__":
    main()
