#!/usr/bin/env python3
"""Joins Tandem's and HuggingFace's benchmark JSON lines into one comparison table.

Rows are matched on (model, device, threads, batch, sampling); the ratio is Tandem tokens/s over HF's.
Tandem rows run with multi-step scheduling (scheduler_steps K > 1) show as device "cuda K=8", with
CUDA graphs (cuda_graphs) as "cuda graphs", with the lane-per-key decode attention
(cuda_decode_attention "lanes") as "cuda lanes", with the plain SGEMM tiles (cuda_gemm "plain") as
"cuda plain", cpu rows with -Dtandem.cpu.vector-bits=B (cpu_vector_bits) as "cpu B-bit"; all are
compared with HuggingFace's row of the plain device.
  python3 benchmarks/peers/compare.py tandem.jsonl hf.jsonl [--markdown out.md]
"""
import argparse
import json


def load(path):
    rows = {}
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    r = json.loads(line)
                    steps = int(r.get("scheduler_steps") or 1)
                    device = (r["device"] + (f" K={steps}" if steps > 1 else "")
                              + (" graphs" if r.get("cuda_graphs") else "")
                              + (" lanes" if r.get("cuda_decode_attention") == "lanes" else "")
                              + (" plain" if r.get("cuda_gemm") == "plain" else "")
                              + (f" {r['cpu_vector_bits']}-bit" if r.get("cpu_vector_bits") else ""))
                    key = (r["model"], device, int(r.get("threads") or 0), int(r["batch"]),
                           r.get("sampling", "greedy"))
                    rows[key] = r
    except FileNotFoundError:
        pass
    return rows


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("tandem")
    p.add_argument("hf")
    p.add_argument("--markdown")
    args = p.parse_args()
    tandem, hf = load(args.tandem), load(args.hf)
    keys = sorted(set(tandem) | set(hf), key=lambda k: (not k[1].startswith("cuda"), k[0], k[4], k[2], k[3], k[1]))
    header = ["model", "device", "threads", "B", "sampling", "Tandem tok/s", "HF tok/s", "ratio",
              "Tandem TTFT s", "HF TTFT s", "Tandem GPU GiB", "HF peak GiB"]
    lines = []
    for k in keys:
        t, h = tandem.get(k, {}), hf.get((k[0], k[1].split(" ")[0]) + k[2:], {})
        tt, ht = t.get("tokens_per_s"), h.get("tokens_per_s")
        ratio = tt / ht if tt and ht else None
        lines.append([k[0], k[1], str(k[2] or "-"), str(k[3]), k[4], fmt(tt, ".1f"), fmt(ht, ".1f"),
                      fmt(ratio, ".2f") + ("x" if ratio else ""), fmt(t.get("ttft_s"), ".3f"),
                      fmt(h.get("ttft_s"), ".3f"), fmt(t.get("gpu_gib"), ".2f"),
                      fmt(h.get("peak_gpu_gib"), ".2f")])
    widths = [max(len(r[i]) for r in [header] + lines) for i in range(len(header))]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for r in lines:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n")
            for r in lines:
                f.write("| " + " | ".join(r) + " |\n")


if __name__ == "__main__":
    main()
