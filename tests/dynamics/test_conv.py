"""The convolutional speech classifier: records like the probe, finds flipped labels where a word's position varies;
the dynamics stage's ``conv_log_mel`` method on clips, keyed by the audio content."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from datasets import Dataset
from sklearn.metrics import roc_auc_score

from dprune.data import example_path
from dprune.dynamics.conv import train_conv_classifier
from dprune.scorers.dynamics import AUMScorer
from dprune.stages.dataset import load_stage
from dprune.stages.dynamics import DYNAMICS, dynamics_stage
from dprune.store import ArtifactStore


def _words_at_random_places(n=60, seed=0):
    """Noise frames with a class-specific pattern (band 3 or band 9 rising) at a random place."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    frames = []
    for label in labels:
        length = int(rng.integers(30, 60))
        f = rng.normal(0, 0.3, size=(length, 12)).astype(np.float32)
        at = int(rng.integers(0, length - 6))
        f[at : at + 6, 3 if label == 0 else 9] += np.linspace(0, 3, 6)
        frames.append(f)
    return Dataset.from_dict({"row_id": np.arange(n) + 100, "label": labels}), frames


def test_records_every_example_every_epoch_and_is_deterministic():
    data, frames = _words_at_random_places(20)
    first = train_conv_classifier(data, frames, epochs=3, batch_size=8, channels=8, seeds=[0, 1])
    train = first.table.to_pandas()  # the training presentations
    assert len(train) == 20 * 3 * 2 and set(train.row_id) == set(range(100, 120))
    assert (train.groupby(["seed", "epoch"]).row_id.nunique() == 20).all()
    assert first.meta["source"] == "conv_log_mel"
    again = train_conv_classifier(data, frames, epochs=3, batch_size=8, channels=8, seeds=[0, 1])
    assert np.array_equal(first.table.column("margin").to_numpy(), again.table.column("margin").to_numpy())


def test_flipped_labels_have_low_aum_when_the_pattern_moves():
    data, frames = _words_at_random_places(60)
    flipped = np.zeros(60, dtype=bool)
    flipped[[1, 8, 15, 22, 37, 50]] = True
    noisy = data.map(lambda row, i: {"label": 1 - row["label"] if flipped[i] else row["label"]}, with_indices=True)
    dynamics = train_conv_classifier(noisy, frames, epochs=15, batch_size=10, channels=16, seeds=[0])
    assert roc_auc_score(flipped, -AUMScorer(dynamics).compute_scores(noisy)) > 0.95


def test_bad_frames_and_settings_are_clear_errors():
    data, frames = _words_at_random_places(4)
    with pytest.raises(ValueError, match="3 frame arrays for 4 rows"):
        train_conv_classifier(data, frames[:3])
    with pytest.raises(ValueError, match="must be 2-D"):
        train_conv_classifier(data, [f[:, :5] if i else f for i, f in enumerate(frames)])
    with pytest.raises(ValueError, match="'channels' parameter of train_conv_classifier must be an int >= 1"):
        train_conv_classifier(data, frames, channels=0)


def test_conv_log_mel_stage_is_keyed_by_the_clips_content(tmp_path):
    rows = pq.read_table(example_path("spoken_digits", "test")).slice(0, 6).to_pylist()
    lines = []
    for i, row in enumerate(rows):
        path = tmp_path / f"{i}.flac"
        path.write_bytes(row["audio"]["bytes"])
        lines.append(json.dumps({"audio_filepath": str(path), "text": row["text"], "label": row["label"]}))
    (tmp_path / "m.json").write_text("\n".join(lines) + "\n")
    store = ArtifactStore(str(tmp_path / "store"))
    dataset_ref = load_stage(store, str(tmp_path / "m.json"))
    ref = dynamics_stage(store, dataset_ref, method="conv_log_mel", seeds=[0], epochs=2, channels=4)
    assert ref.stage == DYNAMICS.name and len(store.manifest(ref)["shards"]) == 2
    assert dynamics_stage(store, dataset_ref, method="conv_log_mel", seeds=[0], epochs=2, channels=4) == ref
    (tmp_path / "0.flac").write_bytes(rows[1]["audio"]["bytes"])  # same path, other audio: a new key
    again = dynamics_stage(store, load_stage(store, str(tmp_path / "m.json")), method="conv_log_mel", seeds=[0],
                           epochs=2, channels=4)
    assert again.key != ref.key
    with pytest.raises(Exception, match="audio"):
        dynamics_stage(store, dataset_ref, method="conv_log_mel", audio_column="wav", seeds=[0], epochs=1)
