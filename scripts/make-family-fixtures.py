#!/usr/bin/env python3
"""Writes HuggingFace oracle fixtures for the families ../shared/fixtures lacks: Flan-T5, mT5, mBART,
Marian.

    python scripts/make-family-fixtures.py [OUT_DIR]     (default: fixtures/)

Needs torch and transformers (scripts/cpu-vs-hf.sh says how to install them). For each family it
builds a tiny model with random weights (seeded), saves it with `save_pretrained` (config.json,
generation_config.json, model.safetensors: the files a real checkpoint has) and writes what
HuggingFace computed with it, in the format of the shared fixtures (fixtures/README.md):
tokenizer.json, golden.json (prompts, input ids, greedy sequences, beam search sequences and
scores, and both again under no_repeat_ngram_size and bad_words_ids) and golden.safetensors
(teacher-forced logits, encoder hidden states, top-2 margins).

Unlike the shared fixtures, whose greedy and beam outputs repeat one token, the random weights here
are large enough that the outputs vary from step to step, so that they check which token each
position chose. The seed is the first whose outputs vary enough, whose smallest top-2 logit gap is
wide enough that another float32 implementation cannot flip a greedy choice, and whose float32
logits stay close to float64 (larger weights amplify rounding). The output is the same on every run.
"""
import json
import math
import os
import sys
from collections import Counter

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from safetensors.torch import load_file, save_file
from transformers import (
    MT5Config,
    MT5ForConditionalGeneration,
    MarianConfig,
    MarianMTModel,
    MBartConfig,
    MBartForConditionalGeneration,
    T5Config,
    T5ForConditionalGeneration,
)

VOCAB = 256
# Tokenized they are 4 to 47 ids long: within one 16-token block, and past T5's max_distance 20.
PROMPTS = [
    "Open the file.",
    "The default is to use the current time, unless a clock is given.",
    "Split the string at the first occurrence of sep, and return a tuple containing the part "
    "before the separator, the separator itself and the part after it; if the separator is not "
    "found, return a tuple containing the string itself and two empty strings.",
    "Return a new sorted list.",
]
# What the tokenizers learn their pieces from: the prompts and sentences like them.
CORPUS = PROMPTS + [
    "Return a new list containing all items from the iterable in ascending order.",
    "Read the whole file and return its contents as a string.",
    "The encoder runs once per request; the decoder runs once per generated token.",
    "If the separator is not found, return a tuple containing the string itself and two empty strings.",
    "Every decoder layer keeps the keys and values of the encoder output in a separate cache.",
    "Close the stream when it is no longer needed, and flush any buffered data first.",
    "Translate the following sentence from English to German, keeping its punctuation.",
    "Summarize the article in two sentences for a reader who has not seen it.",
    "A block table maps the logical blocks of a sequence to physical blocks of memory.",
    "When memory runs out, the scheduler preempts the request that arrived last.",
    "Beam search keeps the four best partial sequences at every step of decoding.",
    "The tokenizer splits text into pieces and maps every piece to an integer id.",
    "Numbers such as 4127 and 99 are written out in words by the demonstration model.",
    "Sampling with a temperature below one makes the likely tokens likelier still.",
    "Swap the blocks back into device memory before the next forward pass begins.",
    "Quickly jumping zebras vex the dozy fox; waltz, bad nymph, for quick jigs.",
    "Prefill computes the cross-attention keys and values once, and every beam shares them.",
    "Check the configuration file for unknown keys and report which line holds each of them.",
    "Weights are stored as little-endian floats after a header that names their shapes.",
    "Hello, world! How many tokens does this greeting need, and why?",
]
GREEDY = dict(max_new_tokens=16, min_new_tokens=16)
BEAM = dict(num_beams=4, max_new_tokens=12, min_new_tokens=6, length_penalty=1.0, early_stopping=True)
MIN_MARGIN = 2e-3  # logits: 100 x MAX_FLOAT32_ERROR, so no greedy choice can flip
MIN_DISTINCT = 8  # different tokens among the greedy outputs
SEEDS = 400  # tried in order until one meets the three conditions
# The constrained runs' settings; their bad words come from the first greedy run.
NO_REPEAT_NGRAM_SIZE = 2
REPETITION_PENALTY = 1.3
# The min_length runs: EOS is a token the first greedy run emits early, held back until this length.
MIN_LENGTH = 8
# HuggingFace's own float32 logits against its float64 ones: larger weights vary the outputs more
# but amplify rounding (2e-4 to 1e-2 at twice these scales), and the tests allow 1e-4.
MAX_FLOAT32_ERROR = 2e-5


# What the T5 family's fixtures share: gated-GELU (v1.1), 2 encoder layers, T5's special ids.
T5_COMMON = dict(
    vocab_size=VOCAB, d_kv=16, num_layers=2, feed_forward_proj="gated-gelu",
    relative_attention_num_buckets=16, relative_attention_max_distance=20,
    decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)


def t5_tokenizer():
    """SentencePiece-style unigram pieces; ids 0-2 are <pad>, </s>, <unk>; prompts end with </s>."""
    return tokenizer(["<pad>", "</s>", "<unk>"], "$A </s>")


def flan_t5():
    """T5 v1.1 / Flan-T5: untied LM head (see untie_t5_head), 3 decoder layers."""
    config = T5Config(
        **T5_COMMON, d_model=64, num_heads=4, d_ff=96, num_decoder_layers=3,
        initializer_factor=1.3)
    return T5ForConditionalGeneration, config, t5_tokenizer()


def mt5():
    """mT5 as transformers 5 saves it: its head tied to the embeddings and not scaled."""
    config = MT5Config(
        **T5_COMMON, d_model=48, num_heads=3, d_ff=80, num_decoder_layers=2,
        initializer_factor=1.0)
    return MT5ForConditionalGeneration, config, t5_tokenizer()


def untie_t5_head(directory, seed):
    """
    Rewrites a saved T5 as the Hub's Flan-T5 checkpoints are: `tie_word_embeddings` false and an
    lm_head.weight of its own, not scaled by d_model^-0.5. transformers 5 always ties T5's head on
    save (its config records only `scale_decoder_outputs`), but it loads such files untied.
    """
    config_path = os.path.join(directory, "config.json")
    with open(config_path) as f:
        config = json.load(f)
    config["tie_word_embeddings"] = False
    config.pop("scale_decoder_outputs", None)
    with open(config_path, "w") as f:
        json.dump(config, f, indent=2)
    weights_path = os.path.join(directory, "model.safetensors")
    weights = load_file(weights_path)
    generator = torch.Generator().manual_seed(seed)
    shared = weights["shared.weight"]
    # as large as the tied head's outputs were (shared scaled by d_model^-0.5), but other values
    weights["lm_head.weight"] = (
        torch.randn(shared.shape, generator=generator) * shared.std() / shared.shape[1] ** 0.5)
    save_file(weights, weights_path, metadata={"format": "pt"})


def mbart():
    """mBART: pre-LayerNorm, a final LayerNorm after each stack, scaled embeddings."""
    config = MBartConfig(
        vocab_size=VOCAB, d_model=64, encoder_layers=2, decoder_layers=3,
        encoder_attention_heads=4, decoder_attention_heads=2, encoder_ffn_dim=96,
        decoder_ffn_dim=80, max_position_embeddings=64, activation_function="gelu",
        scale_embedding=True, bos_token_id=0, pad_token_id=1, eos_token_id=2,
        decoder_start_token_id=2, forced_eos_token_id=2, init_std=0.2)
    return MBartForConditionalGeneration, config, tokenizer(["<s>", "<pad>", "</s>", "<unk>"], "$A </s>")


def marian():
    """Marian: sinusoidal positions, SiLU, post-LayerNorm, decoder start = pad, final_logits_bias."""
    config = MarianConfig(
        vocab_size=VOCAB, decoder_vocab_size=VOCAB, d_model=60, encoder_layers=2,
        decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=5,
        encoder_ffn_dim=96, decoder_ffn_dim=72, max_position_embeddings=64,
        activation_function="swish", scale_embedding=True, pad_token_id=VOCAB - 1,
        eos_token_id=0, decoder_start_token_id=VOCAB - 1, forced_eos_token_id=0,
        share_encoder_decoder_embeddings=True, init_std=0.2)
    # Marian's vocabularies end with <pad>
    return MarianMTModel, config, tokenizer(["</s>", "<unk>"], "$A </s>", last="<pad>")


def pieces(size):
    """
    A unigram vocabulary of `size` pieces drawn from CORPUS, chosen deterministically (tokenizers'
    UnigramTrainer breaks ties differently from run to run): every character, then whole words
    and then word pieces of 2 to 6 characters by frequency, each scored by its log frequency.
    """
    words = Counter("\u2581" + w for text in CORPUS for w in text.split())
    chars = Counter(ch for w, n in words.items() for ch in w for _ in range(n))
    parts = Counter()
    for w, n in words.items():
        for i in range(len(w)):
            for j in range(i + 2, min(len(w), i + 6) + 1):
                parts[w[i:j]] += n
    chosen = dict(chars)
    for counts in (words, parts):
        for piece, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
            if len(chosen) == size:
                break
            chosen.setdefault(piece, n)
    total = sum(chosen.values())
    return sorted(((p, math.log(n / total)) for p, n in chosen.items()), key=lambda e: (-e[1], e[0]))


def tokenizer(specials, template, last=None):
    """
    A SentencePiece-style unigram tokenizer of VOCAB ids: `specials` take the first ids, `last` (if
    any) the last one, pieces from CORPUS the rest; `template` adds the special tokens to a prompt.
    """
    vocab = [(t, 0.0) for t in specials] + pieces(VOCAB - len(specials) - (1 if last else 0))
    vocab += [(last, 0.0)] if last else []
    tok = Tokenizer(models.Unigram(vocab, unk_id=specials.index("<unk>")))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.add_special_tokens(specials + ([last] if last else []))
    eos = tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(single=template, special_tokens=[("</s>", eos)])
    return tok


# name -> (family, rewrite of the saved files or None, fewest distinct greedy tokens)
FAMILIES = {
    "flan-t5-tiny": (flan_t5, untie_t5_head, MIN_DISTINCT),
    # a head tied to the embeddings and not scaled repeats one token at this size; the fixture is
    # there for its logits (transformers 5 never scales mT5's head, whatever the config says)
    "mt5-tiny": (mt5, None, 1),
    "mbart-tiny": (mbart, None, MIN_DISTINCT),
    "marian-tiny": (marian, None, MIN_DISTINCT),
}


def prompts(tok):
    return [tok.encode(p).ids for p in PROMPTS]


def padded(rows, pad):
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
    return ids, mask


@torch.no_grad()
def oracle(model, config, input_ids):
    """HuggingFace's outputs for the prompts: greedy, teacher-forced logits, beam search."""
    ids, mask = padded(input_ids, config.pad_token_id)
    # use_cache=False: transformers 5.18 sizes T5's generation cache by the encoder's layer count
    # (IndexError with 3 decoder over 2 encoder layers); recomputing every position is exact.
    greedy = model.generate(
        input_ids=ids, attention_mask=mask, do_sample=False, num_beams=1, use_cache=False, **GREEDY)
    out = model(input_ids=ids, attention_mask=mask, decoder_input_ids=greedy)
    top2 = out.logits.topk(2, dim=-1).values
    margin = top2[..., 0] - top2[..., 1]
    beam = model.generate(
        input_ids=ids, attention_mask=mask, do_sample=False, use_cache=False, output_scores=True,
        return_dict_in_generate=True, **BEAM)
    error = (model.double()(input_ids=ids, attention_mask=mask, decoder_input_ids=greedy).logits
             - out.logits.double()).abs().max().item()
    model.float()
    return greedy, out, margin, beam, error


@torch.no_grad()
def constrained(model, config, input_ids, greedy):
    """
    Greedy and beam search again under REPETITION_PENALTY, NO_REPEAT_NGRAM_SIZE and bad words taken
    from the first run's outputs (prompt 0's first token, two tokens of prompt 1's), so that every
    one of them bites.
    Returns the bad words, the greedy sequences, their smallest top-2 gap among allowed tokens,
    and the beam search output.
    """
    ids, mask = padded(input_ids, config.pad_token_id)
    bad = [[greedy[0, 1].item()], greedy[1, 3:5].tolist()]
    rules = dict(
        repetition_penalty=REPETITION_PENALTY, no_repeat_ngram_size=NO_REPEAT_NGRAM_SIZE,
        bad_words_ids=bad)
    out = model.generate(
        input_ids=ids, attention_mask=mask, do_sample=False, num_beams=1, use_cache=False,
        output_scores=True, return_dict_in_generate=True, **rules, **GREEDY)
    margin = smallest_allowed_gap(out.scores)
    beam = model.generate(
        input_ids=ids, attention_mask=mask, do_sample=False, use_cache=False, output_scores=True,
        return_dict_in_generate=True, **rules, **BEAM)
    return bad, out.sequences, margin, beam


@torch.no_grad()
def min_length_runs(model, config, input_ids, runs):
    """
    Greedy and beam search with MIN_LENGTH, and as EOS a token that the greedy runs emit before that
    length (the first, by position, whose run keeps every top-2 gap), so that min_length holds it
    back; without min_new_tokens, which would take precedence. Returns the EOS, the greedy sequences,
    their smallest top-2 gap among allowed tokens, and the beam search output.
    """
    ids, mask = padded(input_ids, config.pad_token_id)
    early = [row[position] for position in range(2, MIN_LENGTH) for run in runs for row in run.tolist()]
    for eos in dict.fromkeys(early):
        if eos in (config.pad_token_id, config.decoder_start_token_id):
            continue
        rules = dict(eos_token_id=eos, min_length=MIN_LENGTH, max_new_tokens=GREEDY["max_new_tokens"])
        out = model.generate(
            input_ids=ids, attention_mask=mask, do_sample=False, num_beams=1, use_cache=False,
            output_scores=True, return_dict_in_generate=True, **rules)
        margin = smallest_allowed_gap(out.scores)
        if margin >= MIN_MARGIN:
            beam = model.generate(
                input_ids=ids, attention_mask=mask, do_sample=False, use_cache=False,
                output_scores=True, return_dict_in_generate=True,
                **{**without_min_new_tokens(BEAM), **rules, "max_new_tokens": BEAM["max_new_tokens"]})
            return eos, out.sequences, margin, beam
    sys.exit(f"no early greedy token gives a min_length run with top-2 gaps >= {MIN_MARGIN}")


def smallest_allowed_gap(scores):
    """The smallest top-2 gap of generate()'s processed scores, over the tokens left allowed."""
    return min(
        (top[0] - top[1]).item()
        for step in scores for row in step
        for top in [row.topk(2).values] if torch.isfinite(top[1]))


def beam_record(settings, beam, eos):
    """A beam search run for golden.json: its settings, best sequences (up to EOS) and scores."""
    return {**settings, "sequences": [trim(s, eos) for s in beam.sequences],
            "sequences_scores": beam.sequences_scores.tolist()}


def without_min_new_tokens(settings):
    return {key: value for key, value in settings.items() if key != "min_new_tokens"}


def trim(sequence, eos):
    """A generated row up to its first EOS: generate() pads the shorter beams after theirs."""
    row = sequence.tolist()
    return row[: row.index(eos, 1) + 1] if eos in row[1:] else row


def build(name, family, rewrite, min_distinct, out_dir):
    """
    Saves a random model, reloads it with from_pretrained and takes the oracle from the reloaded
    one: what HuggingFace makes of the files, not of the object that wrote them.
    """
    model_class, config, tok = family()
    eos = config.eos_token_id
    directory = os.path.join(out_dir, name)
    for seed in range(SEEDS):
        torch.manual_seed(seed)
        model_class(config).save_pretrained(directory)
        if rewrite:
            rewrite(directory, seed)
        model = model_class.from_pretrained(directory).eval()
        input_ids = prompts(tok)
        greedy, out, margin, beam, error = oracle(model, config, input_ids)
        distinct = len(set(greedy[:, 1:].flatten().tolist()))
        bad, constrained_greedy, constrained_margin, constrained_beam = constrained(
            model, config, input_ids, greedy)
        if (min(margin.min().item(), constrained_margin) >= MIN_MARGIN and distinct >= min_distinct
                and error <= MAX_FLOAT32_ERROR):
            break
    else:
        sys.exit(f"{name}: no seed below {SEEDS} gave {min_distinct} distinct greedy tokens, a top-2 "
                 f"margin >= {MIN_MARGIN} and float32 logits within {MAX_FLOAT32_ERROR} of float64")
    pad, start = config.pad_token_id, config.decoder_start_token_id
    min_eos, min_greedy, min_margin, min_beam = min_length_runs(
        model, config, input_ids, (greedy, constrained_greedy))
    golden = {
        "model": name,
        "reference": f"transformers {transformers.__version__}, torch {torch.__version__}, float32 on CPU",
        "made_by": "scripts/make-family-fixtures.py (seed %d)" % seed,
        "prompts": PROMPTS,
        "input_ids": input_ids,
        "generation": {"greedy": True, **GREEDY, "decoder_start_token_id": start,
                       "eos_token_id": eos, "pad_token_id": pad},
        "greedy_sequences": greedy.tolist(),
        "greedy_texts": tok.decode_batch(greedy.tolist()),
        "teacher_forced": "golden.safetensors 'logits' [batch, len(greedy_sequences[i]), vocab] = "
                          "logits of the model fed input_ids (padded with pad_token_id, attention "
                          "mask 1 on real tokens) and decoder_input_ids = greedy_sequences; "
                          "'encoder_hidden' [batch, max_input_len, d_model]",
        "min_top2_margin": margin.min().item(),
        "float32_vs_float64": error,
        "beam_search": beam_record(BEAM, beam, eos),
        "constrained": {
            "repetition_penalty": REPETITION_PENALTY,
            "no_repeat_ngram_size": NO_REPEAT_NGRAM_SIZE,
            "bad_words_ids": bad,
            "greedy_sequences": constrained_greedy.tolist(),
            "min_top2_margin": constrained_margin,
            "beam_search": beam_record(BEAM, constrained_beam, eos),
        },
        "min_length": {
            "eos_token_id": min_eos,
            "min_length": MIN_LENGTH,
            "max_new_tokens": GREEDY["max_new_tokens"],
            "greedy_sequences": [trim(s, min_eos) for s in min_greedy],
            "min_top2_margin": min_margin,
            "beam_search": beam_record(without_min_new_tokens(BEAM), min_beam, min_eos),
        },
    }
    tok.save(os.path.join(directory, "tokenizer.json"))
    with open(os.path.join(directory, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
    save_file(
        {"logits": out.logits.contiguous(), "encoder_hidden": out.encoder_last_hidden_state.contiguous(),
         "top2_margin": margin.contiguous()},
        os.path.join(directory, "golden.safetensors"), metadata={"format": "pt"})
    print(f"{name}: seed {seed}, {distinct} distinct greedy tokens, min top-2 margin "
          f"{margin.min().item():.3g}, float32 vs float64 {error:.2g}, "
          f"beams {golden['beam_search']['sequences']}")


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
    torch.set_num_threads(1)
    for name, (family, rewrite, min_distinct) in FAMILIES.items():
        build(name, family, rewrite, min_distinct, out_dir)


if __name__ == "__main__":
    main()
