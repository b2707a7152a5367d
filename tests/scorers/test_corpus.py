"""Corpus scorers on small datasets, and scoring a memory-mapped dataset under a memory cap."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
from datasets import Dataset

from dprune import ThresholdPruner
from dprune.scorers.corpus import ExactDuplicateScorer, LanguageScorer, NearDuplicateScorer, QualityStatisticScorer

LONG = "the committee met on tuesday to discuss the budget for the coming year and agreed on most points"


def test_exact_and_near_duplicate_scores_keep_one_row_per_group():
    texts = [LONG, LONG.upper(), LONG + " again", "something else entirely, with other words in it", LONG]
    dataset = Dataset.from_dict({"text": texts})
    exact = ExactDuplicateScorer()
    scored = exact.score(dataset)
    assert scored["score"] == [0, 1, 0, 0, 1]
    assert exact.duplicate_of_.tolist() == [-1, 0, -1, -1, 0]
    near = NearDuplicateScorer(threshold=0.8, batch_size=2)
    scored = near.score(dataset)
    assert scored["score"] == [0, 1, 1, 0, 1]
    assert near.duplicate_of_.tolist() == [-1, 0, 0, -1, 0]
    assert len(ThresholdPruner(high=0.5).prune(scored)) == 2


def test_scores_follow_a_selected_view_of_the_dataset():
    dataset = Dataset.from_dict({"text": ["a b c", "x y", LONG, "a b c"]}).select([3, 2, 0])
    assert ExactDuplicateScorer().score(dataset)["score"] == [0, 0, 1]
    assert QualityStatisticScorer("word_count", batch_size=2).score(dataset)["score"] == [3, 18, 3]


def test_language_scorer_codes_and_confidence():
    dataset = Dataset.from_dict({"text": [LONG, "der Ausschuss hat sich am Dienstag getroffen und den Haushalt besprochen", ""]})
    scorer = LanguageScorer()
    scores = np.asarray(scorer.score(dataset)["score"])
    assert scorer.languages_.tolist() == ["en", "de", "und"]
    assert scores[0] > 0.9 and scores[1] > 0.9 and scores[2] == 0
    english = np.asarray(LanguageScorer(language="en").score(dataset)["score"])
    assert english[0] > 0.9 and english[1] < 0.05


def test_quality_scorer_streams_under_a_memory_cap(tmp_path):
    """A memory-mapped dataset 8x larger than the cap: Arrow and Python (numpy) peaks stay under the cap."""
    rng = np.random.default_rng(0)
    vocabulary = np.array(["alpha", "beta", "gamma", "delta", "the", "of", "river", "stone"])
    texts = [" ".join(rng.choice(vocabulary, size=200)) for _ in range(16_000)]  # ~17 MB of text
    Dataset.from_dict({"text": texts}).save_to_disk(str(tmp_path / "corpus"))
    cap = 2 << 20  # 2 MiB
    code = textwrap.dedent(
        f"""
        import json, tracemalloc
        import pyarrow as pa
        from datasets import load_from_disk
        from dprune.scorers.corpus import QualityStatisticScorer
        dataset = load_from_disk({str(tmp_path / "corpus")!r})
        text_bytes = dataset.data.nbytes
        pool = pa.default_memory_pool()
        base = pool.bytes_allocated()
        tracemalloc.start()
        scores = QualityStatisticScorer("duplicate_5gram_chars", batch_size=50).compute_scores(dataset)
        _, numpy_peak = tracemalloc.get_traced_memory()
        print(json.dumps({{"text_bytes": text_bytes, "arrow_peak": pool.max_memory() - base,
                          "python_peak": numpy_peak, "rows": len(scores)}}))
        """
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    measured = json.loads(output.stdout.strip().splitlines()[-1])
    assert measured["rows"] == 16_000
    assert measured["text_bytes"] > 8 * cap
    assert measured["arrow_peak"] < cap, measured
    assert measured["python_peak"] < cap, measured  # the 16,000 float64 scores are 128 KB
