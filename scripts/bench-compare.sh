#!/usr/bin/env bash
# Compares two builds of Tandem end to end on this machine: runs `tandem bench` from each
# distribution in turn (A, B, A, B, ...), so both see the same machine and the same neighbours.
#
#   scripts/bench-compare.sh BASELINE_DIST CANDIDATE_DIST [ROUNDS] [PRESET:BATCH ...]
#
# A distribution is a built cli/target/tandem-<version>/ (copy it aside before rebuilding, or
# build an older commit in a git worktree). Defaults: 2 rounds of t5-small at B = 1 and 32, 128
# input / 128 output tokens, cpu backend, 2 threads. Extra bench flags: TANDEM_BENCH_FLAGS.
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,10p "$0"; exit 2; }
baseline="$1"
candidate="$2"
rounds="${3:-2}"
shift $(( $# >= 3 ? 3 : 2 ))
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(t5-small:1 t5-small:32)
flags=${TANDEM_BENCH_FLAGS:---backend cpu --num-threads 2 --input-len 128 --output-len 128}

echo "build      model B L O tok/s ttft-ms step-p50 step-p99 prefill-ms kv-blocks preempt GFLOP/s overhead cpu"
for case in "${cases[@]}"; do
  preset="${case%%:*}"
  batch="${case##*:}"
  for ((round = 1; round <= rounds; round++)); do
    for side in baseline candidate; do
      dist="$baseline"
      [ "$side" = candidate ] && dist="$candidate"
      # shellcheck disable=SC2086 # flags are words
      line=$("$dist/bin/tandem" bench --preset "$preset" --batch "$batch" $flags 2>/dev/null \
        | grep "^$preset " || echo "$preset $batch failed")
      printf '%-10s %s\n' "$side" "$(echo "$line" | tr -s ' ')"
    done
  done
done
