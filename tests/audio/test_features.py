"""Audio embeddings: invariances by construction, bucketing does not change vectors, bad input named;
on the bundled example, injected re-encoded / trimmed / gain-changed copies are found by SemanticDuplicateScorer."""

from __future__ import annotations

import io

import datasets
import numpy as np
import pytest
import soundfile as sf

from dprune.audio.decode import decode_refs
from dprune.audio.features import EMBEDDING_DIM, audio_embeddings
from dprune.data import load_dataset
from dprune.data.audio import refs_from_arrow
from dprune.scorers.semantic_duplicates import SemanticDuplicateScorer

#: Similarity from which SemanticDuplicateScorer's score calls a clip a copy (documented in the README).
DUPLICATE_THRESHOLD = 0.99


@pytest.fixture(scope="module")
def example():
    ds = datasets.concatenate_datasets([load_dataset("spoken_digits", split=s) for s in ("train", "test")])
    return ds, decode_refs(refs_from_arrow(ds.with_format("arrow")["audio"])).audio


def cosine(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_gain_and_silence_padding_barely_move_the_vector(example):
    _, clips = example
    x = clips[0]
    louder = x * 0.25
    padded = np.concatenate([np.zeros(8000, np.float32), x, np.zeros(16000, np.float32)])
    e = audio_embeddings([x, louder, padded, clips[1]])
    assert e.shape == (4, EMBEDDING_DIM) and e.dtype == np.float32
    assert cosine(e[0], e[1]) > 0.999 and cosine(e[0], e[2]) > 0.995
    assert cosine(e[0], e[3]) < cosine(e[0], e[2])


def test_length_buckets_do_not_change_the_vectors(example):
    _, clips = example
    together = audio_embeddings(clips[:12], batch_samples=10**7)
    alone = np.stack([audio_embeddings([c])[0] for c in clips[:12]])
    np.testing.assert_allclose(together, alone, rtol=1e-4, atol=1e-5)


def test_tiny_and_empty_clips_get_zeros_and_bad_input_is_named():
    e = audio_embeddings([np.zeros(0, np.float32), np.zeros(100, np.float32)])
    assert not e.any()
    assert audio_embeddings([]).shape == (0, EMBEDDING_DIM)
    with pytest.raises(ValueError, match="'sample_rate' parameter of audio_embeddings"):
        audio_embeddings([np.zeros(10, np.float32)], sample_rate=8000)
    with pytest.raises(ValueError, match="clip 0 has shape \\(2, 10\\)"):
        audio_embeddings([np.zeros((2, 10), np.float32)])
    with pytest.raises(ValueError, match="clip 0 contains NaN"):
        audio_embeddings([np.full(800, np.nan, np.float32)])


def _ogg(x):
    buffer = io.BytesIO()
    sf.write(buffer, x, 16000, format="OGG", subtype="VORBIS")
    buffer.seek(0)
    return sf.read(buffer, dtype="float32")[0]


def _trim(x, rng):
    """Cut a random part of the leading and trailing silence (frames 45 dB below the loudest)."""
    power = np.convolve(x.astype(np.float64) ** 2, np.ones(400) / 400, mode="same")
    loud = np.flatnonzero(power > power.max() * 10 ** -4.5)
    return x[int(loud[0] * rng.uniform(0, 0.9)): loud[-1] + int((x.size - loud[-1]) * rng.uniform(0.1, 1.0))]


def _gain(x, rng):
    """-9..-3 or +3..+9 dB, limited so the copy does not clip."""
    g = 10 ** (rng.choice([-1, 1]) * rng.uniform(3, 9) / 20)
    return (x * min(g, 0.99 / np.abs(x).max())).astype(np.float32)


@pytest.mark.slow
def test_injected_copies_are_found_by_semantic_duplicates(example):
    ds, clips = example
    rng = np.random.default_rng(0)
    sources = rng.choice(len(clips), 60, replace=False)
    makers = [_ogg, lambda x: _trim(x, rng), lambda x: _gain(x, rng)]
    copies = [makers[j % 3](clips[i]) for j, i in enumerate(sources)]
    vectors = audio_embeddings(clips + copies)
    rows = ds.select(list(range(len(clips))) + [int(i) for i in sources])
    scores = SemanticDuplicateScorer(embeddings=vectors).compute_scores(rows)
    recall = float(np.mean(scores[len(clips):] >= DUPLICATE_THRESHOLD))
    flagged = float(np.mean(scores[: len(clips)] >= DUPLICATE_THRESHOLD))
    print(f"duplicate recall {recall:.3f}, other clips flagged {flagged:.3f}")
    assert recall >= 0.95 and flagged < 0.02, (recall, flagged)
