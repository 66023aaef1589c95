#!/usr/bin/env bash
# Tandem's cpu backend beside HuggingFace generate() on this machine's CPU, same thread count, same
# workload (docs/performance.md): HuggingFace's grid, then Tandem's, round after round, so both
# see the same machine. One comparison table per round (benchmarks/peers/compare.py).
#
#   PYTHON=/path/to/python scripts/cpu-vs-hf.sh DIST [ROUNDS]
#
# DIST is a built distribution (cli/target/tandem-<version>/); PYTHON one with torch and
# transformers (default python3). Knobs: CPU_VS_HF_MODELS (t5-small), CPU_VS_HF_BATCHES (1,32),
# CPU_VS_HF_THREADS (2), CPU_VS_HF_OUT (results directory, default a temporary one).
set -euo pipefail
[ $# -ge 1 ] || { sed -n 2,10p "$0"; exit 2; }
dist="$1"
rounds="${2:-1}"
python="${PYTHON:-python3}"
models="${CPU_VS_HF_MODELS:-t5-small}"
batches="${CPU_VS_HF_BATCHES:-1,32}"
threads_list="${CPU_VS_HF_THREADS:-2}"
out="${CPU_VS_HF_OUT:-$(mktemp -d)}"
peers="$(cd "$(dirname "$0")/../benchmarks/peers" && pwd)"
mkdir -p "$out"

for ((round = 1; round <= rounds; round++)); do
  tandem_json="$out/tandem-$round.jsonl"
  hf_json="$out/hf-$round.jsonl"
  : > "$tandem_json"
  : > "$hf_json"
  for threads in ${threads_list//,/ }; do
    "$python" "$peers/hf_generate.py" --device cpu --threads "$threads" --model "$models" \
      --batch "$batches" --out "$hf_json" 2>/dev/null
    for model in ${models//,/ }; do
      for batch in ${batches//,/ }; do
        "$dist/bin/tandem" bench --preset "$model" --backend cpu --num-threads "$threads" \
          --batch "$batch" --input-len 128 --output-len 128 --json 2>/dev/null \
          | "$python" -c '
import json, sys
threads = int(sys.argv[1])
for r in json.load(sys.stdin):
    print(json.dumps({"engine": "tandem", "model": r["model"], "device": "cpu", "threads": threads,
                      "batch": r["batchSize"], "tokens_per_s": r["tokensPerSecond"],
                      "ttft_s": r["ttftMeanMs"] / 1000}))' "$threads" >> "$tandem_json"
      done
    done
  done
  echo "round $round ($(uptime | sed 's/.*load/load/'))"
  "$python" "$peers/compare.py" "$tandem_json" "$hf_json"
done
echo "results in $out"
