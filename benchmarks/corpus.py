#!/usr/bin/env python
"""Benchmark: corpus filters (MinHash near-duplicates, exact duplicates, Gopher statistics, language id).

The corpus is synthetic and built here, no download: each document joins 3 to 11
random sentences of the bundled Rotten Tomatoes texts (about 130 words). Near-duplicates
are injected: for 2% of the documents a copy with some words replaced is written over
another row, aiming at Jaccard similarities from 0.5 to 1.0 of the word 5-gram sets; the
true similarity of every injected pair is then computed with Python sets over the same
normalized words (independently of the hashing under test).

What is measured, in one process:

* **MinHash signatures** (normalize, shingle into word 5-grams, 128 permutations), docs/s:
  ours (``dprune.corpus.minhash``: vectorized shingling, then the default ``rensa`` backend)
  and ours with the ``numpy`` backend, and
  datasketch's pure-Python ``MinHash`` (``update_batch`` per document, its fastest path) with
  the same normalization and shingles -- on the same sample of documents; ours also on the
  whole corpus. Normalization (shared by both sides) dominates, so the MinHash step alone, from
  shingles already made, is timed too (``signing_only_*``). Medians of 3 interleaved rounds, after a warm-up.
* **Near-duplicate quality** at threshold 0.8 over the whole corpus (LSH banding, exact
  Jaccard verification, connected components): recall of the injected pairs with true
  Jaccard >= 0.8 (both rows in one component) and precision of the reported pairs
  against their true Jaccard (Python sets; at most 20,000 pairs checked).
* **Exact duplicates**, **Gopher statistics** (all 21) and **language id**, docs/s.
* with ``--flow``: the corpus written as four gzip JSONL files, then ``python flows/prune.py
  --preset corpus`` on that folder in a subprocess (its own temporary Prefect server):
  wall time and the peak RSS of the flow process tree (largest single process).

Usage::

    python benchmarks/corpus.py            # 1,000,000 documents
    python benchmarks/corpus.py --quick    # 100,000 documents
    python benchmarks/corpus.py --quick --flow   # also the whole corpus flow

Timings come from a shared 2-core machine unless said otherwise. The last line of the
output is one JSON object.
"""

from __future__ import annotations

import os
import sys

# Run as a script, this folder is sys.path[0]; import from the installed packages only.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

THRESHOLD = 0.8
NGRAM = 5
NUM_PERM = 128
TARGETS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0)


def sentences() -> list[str]:
    from dprune.data import load_dataset

    texts = []
    for split in ("train", "test"):
        texts.extend(load_dataset("rotten_tomatoes", split=split)["text"])
    return texts


def grams(text: str, normalizer) -> set[tuple[str, ...]]:
    words = normalizer(text).split()
    if len(words) < NGRAM:
        return {tuple(words)} if words else set()
    return {tuple(words[i:i + NGRAM]) for i in range(len(words) - NGRAM + 1)}


def true_jaccard(a: str, b: str, normalizer) -> float:
    x, y = grams(a, normalizer), grams(b, normalizer)
    return len(x & y) / len(x | y) if x or y else 0.0


def build_corpus(num_docs: int, seed: int, normalizer):
    """Documents (Arrow) and the injected pairs ``(source, copy, true Jaccard)``."""
    rng = np.random.default_rng(seed)
    pool = sentences()
    vocabulary = sorted({w for s in pool[:2000] for w in s.split()})
    chunks = []
    for start in range(0, num_docs, 100_000):
        size = min(100_000, num_docs - start)
        counts = rng.integers(3, 12, size=size)
        picks = rng.integers(0, len(pool), size=int(counts.sum()))
        bounds = np.concatenate(([0], np.cumsum(counts)))
        chunks.append([" ".join(pool[i] for i in picks[bounds[d]:bounds[d + 1]]) for d in range(size)])
    docs = [d for chunk in chunks for d in chunk]
    del chunks
    num_pairs = max(1, num_docs // 50)
    rows = rng.permutation(num_docs)[: 2 * num_pairs]
    pairs = []
    for source, copy in zip(rows[:num_pairs].tolist(), rows[num_pairs:].tolist()):
        target = TARGETS[len(pairs) % len(TARGETS)]
        words = docs[source].split()
        shingles = max(1, len(words) - NGRAM + 1)
        # Each replaced word removes up to NGRAM shingles: J ~ (S - NGRAM m) / (S + NGRAM m).
        m = int(round(shingles * (1 - target) / (NGRAM * (1 + target))))
        for p in rng.choice(len(words), size=min(m, len(words)), replace=False):
            words[p] = vocabulary[rng.integers(len(vocabulary))] + "q"
        docs[copy] = " ".join(words)
        pairs.append((min(source, copy), max(source, copy)))
    truth = np.array([true_jaccard(docs[a], docs[b], normalizer) for a, b in pairs])
    return pa.array(docs, type=pa.large_string()), np.array(pairs, dtype=np.int64), truth


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def python_shingles(texts: list[str], normalizer) -> list[list[bytes]]:
    """Each document's word 5-grams as bytes, normalized as ours are (the datasketch input)."""
    shingles = []
    for text in texts:
        words = normalizer(text).split()
        shingles.append([" ".join(words[i:i + NGRAM]).encode() for i in range(max(1, len(words) - NGRAM + 1))])
    return shingles


def datasketch_minhash(shingles: list[list[bytes]]) -> list:
    from datasketch import MinHash

    signatures = []
    for document in shingles:
        minhash = MinHash(num_perm=NUM_PERM, seed=1)
        minhash.update_batch(document)
        signatures.append(minhash.hashvalues)
    return signatures


def datasketch_signatures(texts: list[str], normalizer) -> list:
    return datasketch_minhash(python_shingles(texts, normalizer))


def run_flow(texts: pa.Array, workdir: str) -> dict:
    """Write the corpus as 4 gzip JSONL files and run the corpus preset of the prune flow on them."""
    import gzip
    import subprocess

    folder = os.path.join(workdir, "corpus")
    os.makedirs(folder)
    n = len(texts)
    for part in range(4):
        with gzip.open(os.path.join(folder, f"part-{part}.jsonl.gz"), "wt", compresslevel=1) as handle:
            for text in texts.slice(part * n // 4, (part + 1) * n // 4 - part * n // 4).to_pylist():
                handle.write(json.dumps({"text": text}) + "\n")
    repo = os.path.dirname(_HERE)
    command = [sys.executable, os.path.join(repo, "flows", "prune.py"), "--preset", "corpus", "--dataset", folder,
               "--store", os.path.join(workdir, "store"), "--output", os.path.join(workdir, "out")]
    env = {**os.environ, "PYTHONPATH": repo, "HF_DATASETS_CACHE": os.path.join(workdir, "hf")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=workdir)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"the corpus flow failed:\n{done.stderr[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    kept = json.loads(open(os.path.join(workdir, "out", "kept_ids.json")).read())
    return {"flow_wall_s": round(wall, 1), "flow_peak_rss_mb": round(max(peak, before) / 1024, 1),
            "flow_rows_kept": kept["rows_kept"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 documents")
    parser.add_argument("--docs", type=int, default=None)
    parser.add_argument("--sample", type=int, default=2000, help="documents for the backend comparison")
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds of the backend comparison")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--flow", action="store_true", help="also time the corpus preset of the prune flow")
    args = parser.parse_args()
    num_docs = args.docs or (100_000 if args.quick else 1_000_000)

    from dprune.corpus.exact import duplicate_groups, exact_hashes
    from dprune.corpus.language import identify_languages
    from dprune.corpus.minhash import (
        candidate_pairs,
        components,
        document_signatures,
        lsh_parameters,
        minhash_signatures,
        pair_jaccard,
        shingle_hashes,
    )
    from dprune.corpus.quality import quality_statistics
    from dprune.text.normalization import TextNormalizer

    normalizer = TextNormalizer()
    (texts, injected, truth), build_s = timed(build_corpus, num_docs, args.seed, normalizer)
    print(f"corpus: {num_docs} documents, {len(injected)} injected pairs, built in {build_s:.1f} s", flush=True)

    # --- backends on the same sample
    sample = texts.slice(0, min(args.sample, num_docs))
    sample_list = sample.to_pylist()
    document_signatures(sample.slice(0, 100), num_perm=NUM_PERM)  # warm-up: imports, normalizer tables
    datasketch_signatures(sample_list[:100], normalizer)
    rounds = {"ours": [], "numpy": [], "datasketch": []}
    for _ in range(args.rounds):  # interleaved rounds, median: a noisy shared machine biases no side
        rounds["ours"].append(timed(document_signatures, sample, num_perm=NUM_PERM)[1])
        rounds["numpy"].append(timed(document_signatures, sample, num_perm=NUM_PERM, backend="numpy")[1])
        rounds["datasketch"].append(timed(datasketch_signatures, sample_list, normalizer)[1])
    ours_sample_s, numpy_sample_s, datasketch_s = (float(np.median(rounds[k])) for k in ("ours", "numpy", "datasketch"))
    # The MinHash step alone, from shingles already made (normalization is shared by both sides above).
    hashes, offsets = shingle_hashes(sample)
    byte_shingles = python_shingles(sample_list, normalizer)
    signing = {"ours": [], "datasketch": []}
    for _ in range(args.rounds):
        signing["ours"].append(timed(minhash_signatures, hashes, offsets, num_perm=NUM_PERM)[1])
        signing["datasketch"].append(timed(datasketch_minhash, byte_shingles)[1])
    ours_signing_s, datasketch_signing_s = (float(np.median(signing[k])) for k in ("ours", "datasketch"))
    n_sample = len(sample)
    print(f"sample of {n_sample}: ours {n_sample / ours_sample_s:.0f}/s, "
          f"numpy backend {n_sample / numpy_sample_s:.0f}/s, "
          f"datasketch {n_sample / datasketch_s:.0f}/s", flush=True)

    # --- the whole corpus
    batch = 10_000
    start = time.perf_counter()
    signatures = np.concatenate(
        [document_signatures(texts.slice(i, batch), num_perm=NUM_PERM) for i in range(0, num_docs, batch)]
    )
    signature_s = time.perf_counter() - start
    bands, rows = lsh_parameters(NUM_PERM, THRESHOLD)
    candidates, lsh_s = timed(candidate_pairs, signatures, bands, rows)
    involved = np.unique(candidates)
    similarity, verify_s = timed(pair_jaccard, candidates, involved, texts.take(pa.array(involved)))
    pairs = candidates[similarity >= THRESHOLD]
    representative, components_s = timed(components, num_docs, pairs)
    print(f"signatures {signature_s:.1f} s, LSH {lsh_s:.1f} s ({len(candidates)} candidates, bands={bands} "
          f"rows={rows}), verification {verify_s:.1f} s, components {components_s:.2f} s", flush=True)

    high = truth >= THRESHOLD
    found = representative[injected[:, 0]] == representative[injected[:, 1]]
    recall = float(found[high].mean()) if high.any() else float("nan")
    check = pairs if len(pairs) <= 20_000 else pairs[np.random.default_rng(1).choice(len(pairs), 20_000, replace=False)]
    texts_of = {}
    for row in np.unique(check).tolist():
        texts_of[row] = texts[row].as_py()
    exact = np.array([true_jaccard(texts_of[a], texts_of[b], normalizer) for a, b in check.tolist()])
    precision = float((exact >= THRESHOLD).mean()) if len(exact) else float("nan")
    print(f"recall (true J >= {THRESHOLD}, {int(high.sum())} pairs): {recall:.4f}; "
          f"precision ({len(check)} reported pairs): {precision:.4f}", flush=True)

    hashes, exact_s = timed(lambda: np.concatenate(
        [exact_hashes(texts.slice(i, batch)) for i in range(0, num_docs, batch)]))
    groups = duplicate_groups(hashes)
    quality_docs = texts.slice(0, min(20_000, num_docs))
    _, quality_s = timed(quality_statistics, quality_docs)
    _, language_s = timed(identify_languages, sample)
    flow = {}
    if args.flow:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="dprune-corpus-flow-") as workdir:
            flow = run_flow(texts, workdir)
        print(f"corpus flow: {flow}", flush=True)
    ours_per_s = n_sample / ours_sample_s
    baseline_per_s = n_sample / datasketch_s
    result = {
        "benchmark": "corpus_minhash",
        "baseline": "datasketch MinHash.update_batch (pure Python), same normalization and word 5-gram shingles",
        "docs": num_docs,
        "ours_per_s": round(ours_per_s, 1),
        "baseline_per_s": round(baseline_per_s, 1),
        "ratio": round(ours_per_s / baseline_per_s, 2),
        "target": 5,
        "ours_numpy_backend_per_s": round(n_sample / numpy_sample_s, 1),
        "comparison_sample_docs": n_sample,
        "signing_only_ours_per_s": round(n_sample / ours_signing_s, 1),
        "signing_only_datasketch_per_s": round(n_sample / datasketch_signing_s, 1),
        "signing_only_ratio": round(datasketch_signing_s / ours_signing_s, 2),
        "ours_whole_corpus_signatures_per_s": round(num_docs / signature_s, 1),
        "lsh_s": round(lsh_s, 2),
        "verification_s": round(verify_s, 2),
        "candidates": int(len(candidates)),
        "reported_pairs": int(len(pairs)),
        "recall_injected_j_ge_0_8": round(recall, 4),
        "recall_target": 0.95,
        "precision_reported_pairs": round(precision, 4),
        "precision_target": 0.95,
        "exact_duplicate_docs_per_s": round(num_docs / exact_s, 1),
        "exact_duplicate_rows": int(groups.is_duplicate.sum()),
        "quality_statistics_docs_per_s": round(len(quality_docs) / quality_s, 1),
        "language_docs_per_s": round(n_sample / language_s, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **flow,
        "machine": "shared 2-core CPU, noisy timings",
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
