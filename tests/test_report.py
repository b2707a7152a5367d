"""The selection report: numbers per class, cluster and flipped label; figures; extreme examples."""

from __future__ import annotations

import numpy as np
from datasets import Dataset

from dprune.evaluation.noise import flip_labels
from dprune.report import selection_summary, summary_rows, write_report


def _scored():
    n = 40
    data = Dataset.from_dict({
        "text": [f"review {i}" for i in range(n)], "label": [i % 2 for i in range(n)],
        "cluster_id": [i % 4 for i in range(n)], "aum": np.linspace(-2, 2, n),
        "data_map_confidence": np.linspace(0, 1, n), "data_map_variability": np.linspace(0.3, 0, n),
        "data_map_correctness": np.linspace(0, 1, n),
    })
    noisy, flipped = flip_labels(data, 0.25, seed=0)
    return noisy, flipped


def test_summary_counts_kept_rows_per_group_and_the_score_cut():
    scored, flipped = _scored()
    kept = np.arange(20, 40)  # the 20 highest AUM
    summary = selection_summary(scored, kept)
    assert (summary["rows"], summary["kept"]) == (40, 20)
    labels = np.array(scored["label"])
    assert [(e["group"], e["rows"], e["kept"]) for e in summary["by_class"]] == [
        (c, int((labels == c).sum()), int((labels[20:] == c).sum())) for c in (0, 1)]
    assert sum(e["kept"] for e in summary["by_cluster"]) == 20 and len(summary["by_cluster"]) == 4
    by_flipped = {e["group"]: e for e in summary["by_flipped"]}
    assert by_flipped[True]["rows"] == 10 and by_flipped[True]["kept"] == int(flipped[20:].sum())
    aum = summary["scores"]["aum"]
    assert aum["dropped_max"] < aum["kept_min"] == scored["aum"][20]
    assert any(row["what"] == "flipped label" for row in summary_rows(summary))


def test_report_writes_html_with_histograms_data_map_retention_and_examples(tmp_path):
    scored, _ = _scored()
    paths = write_report(scored, np.arange(20, 40), tmp_path / "report")
    names = {p.name for p in paths.figures}
    assert {"hist_aum.png", "data_map.png", "retention_class.png", "retention_cluster.png",
            "retention_flipped.png"} <= names
    assert all(p.exists() and p.read_bytes()[:4] == b"\x89PNG" for p in paths.figures)
    page = paths.html.read_text()
    assert "Kept 20 of 40 rows." in page and "<h4>dropped, lowest aum</h4>" in page and "review 0" in page
    assert all(f'src="{name}"' in page for name in names)


def test_speech_report_lets_a_person_listen_to_the_extreme_clips(tmp_path):
    import base64
    import io

    import soundfile as sf

    from dprune.data import load_dataset

    clips = load_dataset("spoken_digits", split="test").select(range(12)).select_columns(["row_id", "audio", "text"])
    scored = clips.add_column("snr", np.linspace(0.0, 50.0, 12))
    page = write_report(scored, np.arange(6, 12), tmp_path).html.read_text()
    players = page.split('src="data:audio/ogg;base64,')[1:]
    assert len(players) == 20  # kept/dropped x lowest/highest, 5 clips each
    audio, rate = sf.read(io.BytesIO(base64.b64decode(players[0].split('"')[0])))
    assert rate == 16000 and audio.size > 8000
