"""The self-contained report page: what it embeds, sampling, extremes, audio, log axes, PNGs."""

from __future__ import annotations

import re

import numpy as np

from dprune.report import build_report
from dprune.report.interactive import EXTREME_ROWS

from report_tables import TRICKY_TEXT, make_table, page_data


def test_page_is_offline_and_carries_every_part(tmp_path, table_with_audio):
    paths = build_report(table_with_audio, tmp_path / "report", title="RT <selection>")
    html = paths.html.read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html), "the page must not load anything"
    assert "<title>RT &lt;selection&gt;</title>" in html and "Plotly" in html
    data = page_data(paths.html)
    assert data["rows"] == 60 and data["kept"] == int(np.sum(table_with_audio.column("kept")))
    assert data["sample"]["text"][0] == TRICKY_TEXT  # "</script>" in a text neither breaks nor injects
    assert data["map"] == {"kind": "dynamics", "x": "data_map_variability", "y": "data_map_confidence",
                           "x_log": False, "y_log": False}
    logs = {h["column"]: h["log"] for h in data["histograms"]}
    assert logs["perplexity"] and not logs["aum"] and not logs["data_map_confidence"]
    assert [r["field"] for r in data["retention"]] == ["label", "cluster"]
    assert data["summary"]["by_rule"] == [{"rule": "perplexity > 60th percentile", "dropped": 24}]
    assert {p.name for p in paths.figures} >= {"hist_perplexity.png", "data_map.png", "retention_class.png"}
    assert set(data["figures"]) == {p.name for p in paths.figures}


def test_extremes_are_the_lowest_and_highest_kept_and_dropped_rows_of_each_score(tmp_path, table_with_audio):
    data = page_data(build_report(table_with_audio, tmp_path / "r", figures=False).html)
    extremes = data["extremes"]
    values = table_with_audio.column("aum").to_numpy()
    kept = table_with_audio.column("kept").to_numpy()
    ids = table_with_audio.column("row_id").to_numpy()
    picked = [(r, v) for r, s, e, p, v in zip(extremes["row_id"], extremes["score"], extremes["end"], extremes["part"],
                                              extremes["value"]) if (s, e, p) == ("aum", "lowest", "dropped")]
    expected = ids[~kept][np.argsort(values[~kept])][:EXTREME_ROWS]
    assert [r for r, _ in picked] == expected.tolist()
    assert [v for _, v in picked] == sorted(v for _, v in picked)
    assert len(extremes["row_id"]) == 4 * 4 * EXTREME_ROWS  # 4 scores x (low, high) x (kept, dropped)


def test_audio_clips_of_shown_rows_play_from_the_report_folder(tmp_path, table_with_audio):
    import soundfile as sf

    output = tmp_path / "r"
    data = page_data(build_report(table_with_audio, output, figures=False).html)
    links = set(data["extremes"]["audio"])
    assert links and all(link.startswith("audio-") and link.endswith(".ogg") for link in links)
    clip, rate = sf.read(output / next(iter(links)))
    assert rate == 8000 and abs(len(clip) / rate - 0.2) < 0.01
    assert all(link.startswith("file://") for link in data["sample"]["audio"])  # sampled rows link, not copy
    wav = (tmp_path / "clips" / "clip0.wav").read_bytes()
    audio = table_with_audio.column_names.index("audio")
    as_bytes = table_with_audio.set_column(audio, "audio", [[{"path": None, "bytes": wav}] * table_with_audio.num_rows])
    data = page_data(build_report(as_bytes, tmp_path / "b", figures=False).html)
    assert data["sample"]["audio"] == [None] * table_with_audio.num_rows  # bytes are written for extremes only
    assert all((tmp_path / "b" / link).read_bytes()[:4] == b"OggS" for link in data["extremes"]["audio"])
    broken = table_with_audio.set_column(audio, "audio", [[{"path": None, "bytes": b"not audio"}] * 60])
    data = page_data(build_report(broken, tmp_path / "x", figures=False).html)
    assert all(link.startswith("unplayable: ") for link in data["extremes"]["audio"])


def test_speech_report_lets_a_person_listen_to_the_extreme_clips(tmp_path):
    import soundfile as sf

    from dprune.data import load_dataset
    from dprune.report import write_report

    clips = load_dataset("spoken_digits", split="test").select(range(12)).select_columns(["row_id", "audio", "text"])
    scored = clips.add_column("snr", np.linspace(0.0, 50.0, 12))
    paths = write_report(scored, np.arange(6, 12), tmp_path, figures=False)
    links = page_data(paths.html)["extremes"]["audio"]
    assert len(links) == 4 * 6 and all(link.endswith(".ogg") for link in links)  # 6 kept and 6 dropped clips
    audio, rate = sf.read(tmp_path / links[0])
    assert rate == 16000 and audio.size > 8000


def test_large_tables_are_sampled_for_the_map_but_counted_in_full(tmp_path):
    table = make_table(3000)
    data = page_data(build_report(table, tmp_path / "r", max_points=500, figures=False).html)
    sample_ids = data["sample"]["row_id"]
    assert len(sample_ids) == 500 == len(set(sample_ids)) and sample_ids == sorted(sample_ids)
    assert sum(sum(h["kept"]) + sum(h["dropped"]) for h in data["histograms"] if h["column"] == "aum") == 3000
    assert sum(g["rows"] for g in data["retention"][0]["groups"]) == 3000


def test_significant_rounds_like_six_digit_formatting():
    from dprune.report.interactive import significant

    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0, 1, 2000), np.exp(rng.normal(5, 4, 2000)), -np.exp(rng.normal(-5, 4, 2000)),
                             [0.0, np.nan, np.inf, -np.inf, 1e300, 5e-324, 123456789.0, 0.1, 999999.5]])
    expected = [float(f"{v:.6g}") if np.isfinite(v) else None for v in values.tolist()]
    assert significant(values) == expected
