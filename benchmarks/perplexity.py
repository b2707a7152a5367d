#!/usr/bin/env python
"""Benchmark: PerplexityScorer end to end against a bare ``kenlm.Model.score`` loop.

What is measured, on the same sentences in the same run:

* **baseline** -- the texts already in a Python list of ``str``, then
  ``for t in texts: model.score(t)``. Nothing else (no normalization, no word counts,
  no dataset): the fastest thing a user could write around KenLM.
* **ours** -- ``PerplexityScorer(model).score(dataset)`` on a memory-mapped
  ``datasets.Dataset``: streaming the text column in record batches, the full default
  normalizer, word counts, the CCNet per-line formula and the new score column. Once
  with ``num_proc=1`` and once with ``num_proc=2``.

The sentences are generated reproducibly (seed 0) from a bigram Markov chain over the
*normalized* bundled Rotten Tomatoes corpus, so they are in the model's token space
(the model is an order-5 KenLM model trained on that corpus by ``lmplz``). Each
measurement runs in its own subprocess; rounds alternate baseline / ours / ours x2 and
the reported numbers are medians over rounds (the ratio is the median of per-round
ratios), which keeps a noisy shared machine from biasing one side.

Memory: ``peak_rss_mb`` is the peak resident set (VmHWM) of the 1-process scoring run
(the whole worker process: Python, datasets, the model, and the pages of the
memory-mapped dataset file it touched, which are file cache the OS can drop);
``peak_anon_rss_mb`` samples the process's own (anonymous) memory, which is what must
not grow with the number of rows -- compare it with ``peak_anon_rss_mb_quarter_rows``
(the same run on a quarter of the rows).

``cpu_time`` repeats the comparison in CPU seconds (process + pool workers), which other
load on a shared machine does not distort; ``ratio_2proc_projected`` is what two idle cores
would give (it charges the parent's and both workers' CPU time). It is supplementary: the
required ``ratio``/``ratio_2proc`` are wall-clock.

A second, smaller measurement (``raw_text``) scores the *raw* corpus sentences (capitals,
attached punctuation), where normalization does real work; it is reported for honesty,
it is not the target.

Usage::

    python benchmarks/perplexity.py            # 1,000,000 sentences
    python benchmarks/perplexity.py --quick    # 100,000 sentences

The last line of the output is one JSON object.
"""

from __future__ import annotations

import os
import sys

# Run as a script, this folder is sys.path[0]; a sibling module named like a stdlib one
# (benchmarks/select.py) would shadow it. Import from the installed packages only.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse
import json
import resource
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "dprune" / "examples" / "rotten_tomatoes" / "train.parquet"
CHUNK_ROWS = 100_000
MAX_TOKENS = 40
SEED = 0


# --------------------------------------------------------------------------- data
def corpus_lines(normalized: bool) -> list[str]:
    import pyarrow.parquet as pq

    from dprune.text.normalization import TextNormalizer

    texts = pq.read_table(CORPUS, columns=["text"]).column("text").to_pylist()
    if not normalized:
        return texts
    normalizer = TextNormalizer()
    return [line for line in (normalizer(t) for t in texts) if line]


def _bigram_tables(lines: list[str]):
    vocab: dict[str, int] = {"<s>": 0, "</s>": 1}
    prev, nxt = [], []
    for line in lines:
        ids = [vocab.setdefault(w, len(vocab)) for w in line.split()]
        seq = [0, *ids, 1]
        prev += seq[:-1]
        nxt += seq[1:]
    size = len(vocab)
    pairs, counts = np.unique(np.asarray(prev, np.int64) * size + np.asarray(nxt, np.int64), return_counts=True)
    pair_prev, pair_next = pairs // size, pairs % size
    cum = np.cumsum(counts).astype(np.float64)
    first = np.searchsorted(pair_prev, np.arange(size), side="left")
    last = np.searchsorted(pair_prev, np.arange(size), side="right")
    base = np.where(first > 0, cum[np.maximum(first - 1, 0)], 0.0)
    total = np.where(last > first, cum[np.maximum(last - 1, 0)] - base, 0.0)
    words = np.array(sorted(vocab, key=vocab.get), dtype=object)
    return words, pair_next, cum, base, total


def generate_sentences(path: Path, rows: int, lines: list[str]) -> float:
    """Write ``rows`` generated sentences to an Arrow stream file; return the mean words per sentence."""
    words, pair_next, cum, base, total = _bigram_tables(lines)
    vocab_array = pa.array(words.tolist(), pa.string())
    schema = pa.schema([("text", pa.string())])
    n_words = 0
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
        for chunk, start in enumerate(range(0, rows, CHUNK_ROWS)):
            n = min(CHUNK_ROWS, rows - start)
            rng = np.random.default_rng([SEED, chunk])
            tokens = np.full((n, MAX_TOKENS), -1, dtype=np.int64)
            current = np.zeros(n, dtype=np.int64)
            alive = np.ones(n, dtype=bool)
            for step in range(MAX_TOKENS):
                idx = np.flatnonzero(alive)
                if idx.size == 0:
                    break
                cur = current[idx]
                target = base[cur] + rng.random(idx.size) * total[cur]
                chosen = pair_next[np.minimum(np.searchsorted(cum, target, side="right"), cum.size - 1)]
                ended = chosen == 1
                if step == 0:  # never emit an empty sentence
                    chosen = np.where(ended, 2, chosen)
                    ended[:] = False
                tokens[idx[~ended], step] = chosen[~ended]
                current[idx] = chosen
                alive[idx[ended]] = False
            valid = tokens >= 0
            lengths = valid.sum(axis=1)
            n_words += int(lengths.sum())
            flat = pa.array(tokens[valid])
            offsets = pa.array(np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32))
            lists = pa.ListArray.from_arrays(offsets, vocab_array.take(flat))
            writer.write_batch(pa.record_batch([pc.binary_join(lists, " ")], schema=schema))
    return n_words / rows


def write_raw_corpus(path: Path, rows: int) -> None:
    texts = corpus_lines(normalized=False)
    repeated = (texts * (rows // len(texts) + 1))[:rows]
    schema = pa.schema([("text", pa.string())])
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
        writer.write_table(pa.table({"text": repeated}, schema=schema), max_chunksize=CHUNK_ROWS)


# --------------------------------------------------------------------------- workers
def _cpu_seconds() -> float:
    """CPU time of this process and of its reaped children (the pool workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _vm_hwm_kb() -> int:
    """Peak resident set of this process image (VmHWM). Unlike ``ru_maxrss``, it is not
    inherited from the parent across fork + exec (the benchmark parent holds the generated data)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # pragma: no cover - not Linux


class _AnonSampler:
    """Samples RssAnon from /proc/self/status (the kernel keeps no peak for it)."""

    def __init__(self, interval: float = 0.02):
        self.peak_kb = 0
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        try:
            with open("/proc/self/status") as handle:
                for line in handle:
                    if line.startswith("RssAnon:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                        return
        except OSError:
            pass

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            time.sleep(self.interval)

    def __enter__(self):
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()


def worker(mode: str, data: str, model: str, batch_size: int, rows: int | None) -> dict:
    import datasets

    datasets.disable_progress_bars()
    if mode == "baseline":
        import kenlm

        with pa.memory_map(data) as source:
            table = pa.ipc.open_stream(source).read_all()
        texts = table.column("text").to_pylist()
        if rows is not None:
            texts = texts[:rows]
        lm = kenlm.Model(model)
        score = lm.score
        cpu = _cpu_seconds()
        start = time.perf_counter()
        for text in texts:
            score(text)
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "cpu_seconds": _cpu_seconds() - cpu, "rows": len(texts)}
    from dprune.scorers.perplexity import PerplexityScorer

    dataset = datasets.Dataset.from_file(data, in_memory=False)
    if rows is not None:
        dataset = dataset.select(range(rows))
    num_proc = 2 if mode == "ours2" else 1
    scorer = PerplexityScorer(model, batch_size=batch_size, num_proc=num_proc)
    with _AnonSampler() as sampler:
        cpu = _cpu_seconds()
        start = time.perf_counter()
        scored = scorer.score(dataset)
        seconds = time.perf_counter() - start
        cpu = _cpu_seconds() - cpu
    assert len(scored) == len(dataset)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rows": len(dataset),
        "peak_rss_mb": round(_vm_hwm_kb() / 1024, 1),
        "peak_anon_rss_mb": round(sampler.peak_kb / 1024, 1),
    }


def run_worker(mode: str, data: Path, model: Path, batch_size: int, rows: int | None = None) -> dict:
    command = [sys.executable, __file__, "--_worker", mode, "--_data", str(data), "--_model", str(model),
               "--batch-size", str(batch_size)]
    if rows is not None:
        command += ["--_rows", str(rows)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if result.returncode != 0:
        raise RuntimeError(f"benchmark worker {mode} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- main
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 sentences instead of 1,000,000")
    parser.add_argument("--rows", type=int, default=None, help="number of sentences (overrides --quick)")
    parser.add_argument("--repeats", type=int, default=3, help="measurement rounds (median is reported)")
    parser.add_argument("--batch-size", type=int, default=10_000, help="PerplexityScorer batch_size")
    parser.add_argument("--order", type=int, default=5, help="n-gram order of the reference model")
    parser.add_argument("--workdir", default=None, help="keep generated data and model here (default: temp)")
    parser.add_argument("--_worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--_data", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--_model", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--_rows", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args._worker:
        print(json.dumps(worker(args._worker, args._data, args._model, args.batch_size, args._rows)))
        return 0

    import datasets

    from dprune.lm.tools import ensure_tools
    from dprune.lm.training import train_kenlm_model

    datasets.disable_progress_bars()
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    ensure_tools(verbose=True)
    with tempfile.TemporaryDirectory(prefix="dprune-bench-ppl-") as tmp:
        work = Path(args.workdir) if args.workdir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        lines = corpus_lines(normalized=True)
        model = work / f"rt-order{args.order}.bin"
        started = time.perf_counter()
        train_kenlm_model(datasets.Dataset.from_dict({"text": lines}), model, order=args.order, memory="256M")
        train_seconds = time.perf_counter() - started
        data = work / f"sentences-{rows}.arrow"
        started = time.perf_counter()
        avg_words = generate_sentences(data, rows, lines)
        gen_seconds = time.perf_counter() - started
        print(f"model trained in {train_seconds:.1f} s; {rows} sentences ({avg_words:.1f} words on average) "
              f"generated in {gen_seconds:.1f} s", file=sys.stderr)

        rounds = []
        for r in range(args.repeats):
            base = run_worker("baseline", data, model, args.batch_size)
            ours = run_worker("ours", data, model, args.batch_size)
            ours2 = run_worker("ours2", data, model, args.batch_size)
            rounds.append((base, ours, ours2))
            print(f"round {r + 1}: baseline {rows / base['seconds']:,.0f}/s, ours {rows / ours['seconds']:,.0f}/s, "
                  f"ours x2 {rows / ours2['seconds']:,.0f}/s", file=sys.stderr)
        quarter = run_worker("ours", data, model, args.batch_size, rows=rows // 4)

        raw_rows = max(rows // 10, 10_000)
        raw = work / f"raw-{raw_rows}.arrow"
        write_raw_corpus(raw, raw_rows)
        raw_rounds = [(run_worker("baseline", raw, model, args.batch_size),
                       run_worker("ours", raw, model, args.batch_size)) for _ in range(args.repeats)]

    def med(values):
        return float(statistics.median(values))

    baseline_per_s = med([rows / b["seconds"] for b, _, _ in rounds])
    ours_per_s = med([rows / o["seconds"] for _, o, _ in rounds])
    ours2_per_s = med([rows / o2["seconds"] for _, _, o2 in rounds])
    ratio = med([b["seconds"] / o["seconds"] for b, o, _ in rounds])
    ratio2 = med([b["seconds"] / o2["seconds"] for b, _, o2 in rounds])
    last_ours = rounds[-1][1]
    result = {
        "benchmark": "perplexity",
        "baseline": "bare kenlm.Model.score loop",
        "ours_per_s": round(ours_per_s, 1),
        "baseline_per_s": round(baseline_per_s, 1),
        "ratio": round(ratio, 3),
        "ratio_2proc": round(ratio2, 3),
        "target": 0.8,
        "target_2proc": 1.7,
        "peak_rss_mb": last_ours["peak_rss_mb"],
        "ours_2proc_per_s": round(ours2_per_s, 1),
        "peak_anon_rss_mb": last_ours["peak_anon_rss_mb"],
        "peak_anon_rss_mb_quarter_rows": quarter["peak_anon_rss_mb"],
        "peak_rss_mb_quarter_rows": quarter["peak_rss_mb"],
        "rows": rows,
        "avg_words": round(avg_words, 2),
        "order": args.order,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "round_ratios": [round(b["seconds"] / o["seconds"], 3) for b, o, _ in rounds],
        "round_ratios_2proc": [round(b["seconds"] / o2["seconds"], 3) for b, _, o2 in rounds],
        "raw_text": {
            "rows": raw_rows,
            "ours_per_s": round(med([raw_rows / o["seconds"] for _, o in raw_rounds]), 1),
            "baseline_per_s": round(med([raw_rows / b["seconds"] for b, _ in raw_rounds]), 1),
            "ratio": round(med([b["seconds"] / o["seconds"] for b, o in raw_rounds]), 3),
        },
        # CPU-time view, insensitive to other load on the machine: rows per CPU-second, and the
        # 2-process throughput projected for two idle cores (total CPU of parent + workers / 2).
        "cpu_time": {
            "baseline_per_cpu_s": round(med([rows / b["cpu_seconds"] for b, _, _ in rounds]), 1),
            "ours_per_cpu_s": round(med([rows / o["cpu_seconds"] for _, o, _ in rounds]), 1),
            "ratio": round(med([b["cpu_seconds"] / o["cpu_seconds"] for b, o, _ in rounds]), 3),
            "ratio_2proc_projected": round(med([2 * b["cpu_seconds"] / o2["cpu_seconds"] for b, _, o2 in rounds]), 3),
        },
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
