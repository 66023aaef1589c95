#!/usr/bin/env python3
"""HuggingFace generate() on Tandem's benchmark workload, for side-by-side figures.

Workload (docs/performance.md, ../shared/reference/peers-h200.md): random weights with the shapes of
the preset, B requests of 128 random input ids, exactly 128 generated tokens each
(min_new_tokens = max_new_tokens = 128), greedy, one warm-up run, float32.

Prints one JSON object per run (engine, model, device, threads, batch, tokens, seconds,
tokens_per_s, ttft_s, peak_gpu_gib) to stdout or --out, and a table to stderr.

  python3 benchmarks/peers/hf_generate.py --device cuda --batch 1,32,256
  python3 benchmarks/peers/hf_generate.py --device cpu --threads 2,16 --batch 1,32
"""
import argparse
import json
import sys
import time

import torch
import transformers
from transformers import (BartConfig, BartForConditionalGeneration, T5Config,
                          T5ForConditionalGeneration)


def t5_small():
    return T5ForConditionalGeneration(T5Config(
        vocab_size=32128, d_model=512, d_kv=64, d_ff=2048, num_layers=6, num_decoder_layers=6,
        num_heads=8, relative_attention_num_buckets=32, relative_attention_max_distance=128,
        feed_forward_proj="relu", tie_word_embeddings=True, decoder_start_token_id=0,
        pad_token_id=0, eos_token_id=1))


def bart_base():
    return BartForConditionalGeneration(BartConfig(
        vocab_size=50265, d_model=768, encoder_layers=6, decoder_layers=6,
        encoder_attention_heads=12, decoder_attention_heads=12, encoder_ffn_dim=3072,
        decoder_ffn_dim=3072, max_position_embeddings=1024, activation_function="gelu",
        pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2))


PRESETS = {"t5-small": t5_small, "bart-base": bart_base}


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def sampling_label(temperature, top_p, top_k, num_beams):
    """As Tandem's BenchmarkSampling.label(): "greedy", "num_beams=4" or "temperature=1 top_p=0.9"."""
    if num_beams > 1:
        return f"num_beams={num_beams}"
    if temperature == 0:
        return "greedy"

    def number(v):
        return str(int(v)) if v == int(v) else repr(v)
    label = f"temperature={number(temperature)}"
    if top_p < 1:
        label += f" top_p={number(top_p)}"
    if top_k > 0:
        label += f" top_k={top_k}"
    return label


def generate(model, ids, new_tokens, sampling):
    temperature, top_p, top_k, num_beams = sampling
    options = {"do_sample": False, "num_beams": num_beams}
    if temperature > 0:  # HF's top_k defaults to 50 when sampling: 0 turns it off, as Tandem's -1
        options = {"do_sample": True, "temperature": temperature, "top_p": top_p,
                   "top_k": max(top_k, 0), "num_beams": 1}
    return model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                          max_new_tokens=new_tokens, min_new_tokens=new_tokens, **options)


def run(preset, device, threads, batch, input_len, output_len, seed, sampling):
    torch.manual_seed(seed)
    model = PRESETS[preset]().to(device=device, dtype=torch.float32).eval()
    vocab = model.config.vocab_size
    # ids above the special tokens, as a tokenizer would produce for ordinary text
    ids = torch.randint(4, vocab, (batch, input_len), device=device)
    with torch.inference_mode():
        generate(model, ids, output_len, sampling)  # warm-up
        sync(device)
        start = time.perf_counter()
        generate(model, ids, 1, sampling)
        sync(device)
        ttft = time.perf_counter() - start
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        out = generate(model, ids, output_len, sampling)
        sync(device)
        seconds = time.perf_counter() - start
    generated = (out.shape[1] - 1) * batch  # minus the decoder start token
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    return {"engine": "hf", "model": preset, "device": device, "threads": threads,
            "batch": batch, "sampling": sampling_label(*sampling),
            "input_len": input_len, "output_len": output_len,
            "tokens": int(generated), "seconds": round(seconds, 4),
            "tokens_per_s": round(generated / seconds, 1), "ttft_s": round(ttft, 4),
            "peak_gpu_gib": None if peak is None else round(peak, 3)}


def ints(text):
    return [int(x) for x in text.split(",") if x]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="t5-small,bart-base")
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    p.add_argument("--threads", default="0", help="CPU threads, comma-separated (0: torch default)")
    p.add_argument("--batch", default="1,32,256")
    p.add_argument("--input-len", type=int, default=128)
    p.add_argument("--output-len", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--temperature", type=float, default=0, help="0: greedy")
    p.add_argument("--top-p", type=float, default=1)
    p.add_argument("--top-k", type=int, default=-1, help="-1: all tokens")
    p.add_argument("--num-beams", type=int, default=1, help="beam search, the best beam returned")
    p.add_argument("--out", help="append JSON lines here instead of stdout")
    args = p.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("hf_generate.py: torch sees no CUDA device")
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"device {torch.cuda.get_device_name(0) if args.device == 'cuda' else 'cpu'}",
          file=sys.stderr)
    sink = open(args.out, "a") if args.out else sys.stdout
    for threads in ints(args.threads) if args.device == "cpu" else [0]:
        if threads > 0:
            torch.set_num_threads(threads)
        for preset in args.model.split(","):
            for batch in ints(args.batch):
                r = run(preset, args.device, threads, batch, args.input_len, args.output_len,
                        args.seed, (args.temperature, args.top_p, args.top_k, args.num_beams))
                print(json.dumps(r), file=sink, flush=True)
                print(f"hf {preset:10s} {args.device:4s} threads={threads:<2d} B={batch:<4d} "
                      f"{r['sampling']} "
                      f"{r['tokens_per_s']:>10.1f} tok/s  {r['seconds']:.3f} s  "
                      f"ttft {r['ttft_s']:.3f} s  peak {r['peak_gpu_gib']} GiB",
                      file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
