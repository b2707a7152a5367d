#!/usr/bin/env python
"""Benchmark: TextEmbedder throughput against the original dPrune loop and sentence-transformers.

Same model (the bundled all-MiniLM-L6-v2), same texts (the first 5,000 rows of the bundled
Rotten Tomatoes ``train`` split), same machine, same run:

* **original** -- the original dPrune ``_get_embeddings``: a ``DataLoader`` with batches of 8
  in dataset order, each padded to its longest text (``max_length=512``),
  ``model(**batch, output_hidden_states=True)``, CLS vector of the last hidden state;
* **sentence_transformers** -- ``SentenceTransformer(path).encode(texts)`` (its defaults:
  batch 32, length-sorted, mean pooling + normalization, max 256 tokens);
* **ours_exact** -- ``TextEmbedder(precision="float32").embed(texts)`` (defaults: the model's
  own pooling = mean + normalization, max 256 tokens, batch 64, length-bucketed);
* **ours_fast** -- ``TextEmbedder(precision="bfloat16")``: bfloat16 autocast (AMX / AVX-512
  BF16 matrix products, float32 reductions), weights untouched.

Every timing includes tokenization and excludes model loading. Each measurement runs in its
own subprocess and rounds alternate the methods. Like ``timeit``, the best (minimum) time
over the rounds is the estimate the speedups use, because on a shared machine other
processes only ever add time; medians are reported too.

Quality: ``ours_exact`` is compared with an **unbatched reference** (each text alone through
the model, no padding, mean pooling + normalization: max absolute difference must be
<= 1e-4) and with sentence-transformers; ``ours_fast`` with ``ours_exact`` (mean cosine
similarity must be >= 0.99).

FLOP/s: model FLOPs are counted for the real (unpadded) tokens of each text: per layer and
token ``2 * (4 d^2 + 2 d f) + 4 L d`` (projections, feed-forward, attention scores and
values; d = hidden size, f = intermediate size, L = the text's token count). Padded
positions that a method computes are not counted, so the number says how much useful work
per second a method gets done. It is compared with the machine's matrix-multiply peak,
measured in this process with ``torch.matmul`` on 2048 x 2048 float32 and bfloat16 matrices
(best of 10, before and after the runs, the higher kept).

Usage::

    python benchmarks/embed.py            # 5,000 texts, 3 rounds
    python benchmarks/embed.py --quick    # 500 texts, 1 round

The last line of the output is one JSON object.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse
import json
import statistics
import subprocess
import tempfile
import time

import numpy as np

METHODS = ("original", "sentence_transformers", "ours_exact", "ours_fast")


def load_texts(n: int) -> list[str]:
    from dprune.data.loading import load_dataset

    ds = load_dataset("rotten_tomatoes", split="train")
    if n > len(ds):
        raise SystemExit(f"--texts {n} is more than the {len(ds)} rows of the bundled data.")
    return ds.select(range(n)).with_format("arrow")["text"].to_pylist()


def model_path() -> str:
    from dprune.models import resolve_model_name

    return resolve_model_name("all-MiniLM-L6-v2")


def original_embeddings(texts: list[str], model, tokenizer, batch_size: int = 8) -> np.ndarray:
    """The original dPrune loop (dprune/scorers/unsupervised.py, _get_embeddings), on the CPU."""
    import torch
    from torch.utils.data import DataLoader

    def collate(batch):
        return tokenizer(batch, return_tensors="pt", padding=True, truncation=True, max_length=512)

    model.eval()
    out = []
    for batch in DataLoader(texts, batch_size=batch_size, collate_fn=collate):
        with torch.no_grad():
            outputs = model(**batch, output_hidden_states=True)
            out.append(outputs.hidden_states[-1][:, 0, :].cpu().numpy())
    return np.concatenate(out)


def unbatched_reference(texts: list[str]) -> np.ndarray:
    """Each text alone, no padding, mean pooling + L2 normalization, max 256 tokens."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path())
    model = AutoModel.from_pretrained(model_path()).eval()
    out = np.empty((len(texts), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for i, text in enumerate(texts):
            enc = tokenizer([text], truncation=True, max_length=256, return_tensors="pt")
            hidden = model(**enc).last_hidden_state[0]
            out[i] = torch.nn.functional.normalize(hidden.mean(dim=0), dim=0).numpy()
    return out


def worker(method: str, texts_file: str, out_file: str) -> dict:
    import torch  # noqa: F401  (import cost outside the timing)

    with open(texts_file, encoding="utf-8") as f:
        texts = json.load(f)
    if method == "original":
        from transformers import AutoModel, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(model_path())
        model = AutoModel.from_pretrained(model_path())
        original_embeddings(texts[:16], model, tokenizer)  # warm-up
        start = time.perf_counter()
        vectors = original_embeddings(texts, model, tokenizer)
    elif method == "sentence_transformers":
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(model_path(), device="cpu")
        model.encode(texts[:16])
        start = time.perf_counter()
        vectors = model.encode(texts, convert_to_numpy=True)
    elif method in ("ours_exact", "ours_fast"):
        from dprune.text.embedding import TextEmbedder

        embedder = TextEmbedder(precision="float32" if method == "ours_exact" else "bfloat16", progress=False)
        embedder.embed(texts[:16])
        start = time.perf_counter()
        vectors = embedder.embed(texts)
    else:
        raise SystemExit(f"unknown method {method}")
    seconds = time.perf_counter() - start
    np.save(out_file, np.asarray(vectors, dtype=np.float32))
    return {"seconds": seconds}


def run_worker(method: str, texts_file: str, out_file: str) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--_worker", method, "--_texts", texts_file, "--_out", out_file]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{method} worker failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"  {method:>22}: {result['seconds']:7.2f} s", flush=True)
    return result


def matmul_peak(dtype_name: str, size: int = 2048, repeats: int = 10) -> float:
    import torch

    dtype = getattr(torch, dtype_name)
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    torch.matmul(a, b)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def useful_flops(texts: list[str], max_length: int) -> float:
    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(model_path())
    tokenizer = AutoTokenizer.from_pretrained(model_path())
    lengths = np.array([len(ids) for ids in tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]],
                       dtype=np.float64)
    d, f, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    per_token = 2 * (4 * d * d + 2 * d * f)
    return float(layers * (lengths * per_token + 4 * lengths * lengths * d).sum())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 texts and 1 round")
    parser.add_argument("--texts", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--_worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--_texts", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--_out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._worker:
        print(json.dumps(worker(args._worker, args._texts, args._out)))
        return 0

    import torch

    n = args.texts or (500 if args.quick else 5000)
    rounds = args.rounds or (1 if args.quick else 3)
    load_before = os.getloadavg()[0]
    texts = load_texts(n)
    peak32, peak16 = matmul_peak("float32"), matmul_peak("bfloat16")
    print(f"embedding benchmark: {n} texts, {rounds} round(s); matmul peak float32 {peak32 / 1e9:.0f} GFLOP/s, "
          f"bfloat16 {peak16 / 1e9:.0f} GFLOP/s, {torch.get_num_threads()} threads", flush=True)
    with tempfile.TemporaryDirectory(prefix="dprune-bench-embed-") as tmp:
        texts_file = os.path.join(tmp, "texts.json")
        with open(texts_file, "w", encoding="utf-8") as f:
            json.dump(texts, f)
        runs: dict[str, list[float]] = {m: [] for m in METHODS}
        for r in range(rounds):
            print(f"round {r + 1}/{rounds}", flush=True)
            for method in METHODS:
                runs[method].append(run_worker(method, texts_file, os.path.join(tmp, f"{method}.npy"))["seconds"])
        vectors = {m: np.load(os.path.join(tmp, f"{m}.npy")) for m in METHODS}
    print("unbatched reference ...", flush=True)
    start = time.perf_counter()
    reference = unbatched_reference(texts)
    reference_seconds = time.perf_counter() - start

    peak32, peak16 = max(peak32, matmul_peak("float32")), max(peak16, matmul_peak("bfloat16"))

    def best(m: str) -> float:
        return min(runs[m])

    def speedup(base: str, ours: str) -> float:
        return round(best(base) / best(ours), 2)

    flops256, flops512 = useful_flops(texts, 256), useful_flops(texts, 512)
    exact, fast = vectors["ours_exact"], vectors["ours_fast"]
    max_diff_reference = float(np.abs(exact - reference).max())
    max_diff_st = float(np.abs(exact - vectors["sentence_transformers"]).max())
    cosine_fast = np.sum(exact * fast, axis=1) / (np.linalg.norm(exact, axis=1) * np.linalg.norm(fast, axis=1))
    methods = {}
    for m in METHODS:
        flops = flops512 if m == "original" else flops256
        methods[m] = {"seconds": round(best(m), 3), "seconds_median": round(statistics.median(runs[m]), 3),
                      "texts_per_second": round(n / best(m), 1),
                      "model_gflops_per_second": round(flops / best(m) / 1e9, 1)}
    for m in METHODS:
        peak = peak16 if m == "ours_fast" else peak32
        methods[m]["fraction_of_matmul_peak"] = round(methods[m]["model_gflops_per_second"] * 1e9 / peak, 3)
    result = {
        "benchmark": "embed",
        "model": "all-MiniLM-L6-v2",
        "texts": n,
        "rounds": rounds,
        "methods": methods,
        "speedup_exact_vs_original": speedup("original", "ours_exact"),
        "speedup_exact_vs_sentence_transformers": speedup("sentence_transformers", "ours_exact"),
        "speedup_fast_vs_original": speedup("original", "ours_fast"),
        "speedup_fast_vs_exact": speedup("ours_exact", "ours_fast"),
        "exact_max_abs_diff_vs_unbatched_reference": max_diff_reference,
        "exact_max_abs_diff_vs_sentence_transformers": max_diff_st,
        "fast_mean_cosine_vs_exact": round(float(cosine_fast.mean()), 6),
        "fast_min_cosine_vs_exact": round(float(cosine_fast.min()), 6),
        "unbatched_reference_seconds": round(reference_seconds, 2),
        "matmul_peak_gflops": {"float32": round(peak32 / 1e9, 1), "bfloat16": round(peak16 / 1e9, 1)},
        "targets": {"speedup_exact_vs_original": 1.3, "speedup_exact_vs_sentence_transformers": 1.0,
                    "exact_max_abs_diff_vs_unbatched_reference": 1e-4, "speedup_fast_vs_original": 2.5,
                    "fast_mean_cosine_vs_exact": 0.99},
        "threads": torch.get_num_threads(),
    }
    result["passed"] = bool(
        result["speedup_exact_vs_original"] >= 1.3 and result["speedup_exact_vs_sentence_transformers"] >= 1.0
        and max_diff_reference <= 1e-4 and result["speedup_fast_vs_original"] >= 2.5
        and result["fast_mean_cosine_vs_exact"] >= 0.99
    )
    result["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
