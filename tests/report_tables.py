"""Report test helpers: a selection table like the flow's (dynamics, perplexity, clusters, a drop rule, audio clips) and the page's data."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pyarrow as pa

TRICKY_TEXT = 'ends the script early </script><script>console.error("injected")</script> & <b>bold</b>'


def write_clip(path: Path, seconds: float = 0.2, rate: int = 8000) -> Path:
    """A real mono 16-bit WAV file of a sine tone."""
    samples = (np.sin(np.linspace(0, 440 * 2 * np.pi * seconds, int(rate * seconds))) * 8000).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


def make_table(n: int, *, audio_dir: Path | None = None, seed: int = 0) -> pa.Table:
    """``n`` rows: distinct texts, names as labels, data-map scores, heavy-tailed perplexity, a rule for drops."""
    rng = np.random.default_rng(seed)
    perplexity = np.exp(rng.normal(6, 1.5, n))  # heavy-tailed: max >= 10x median
    kept = perplexity < np.quantile(perplexity, 0.6)
    texts = [f"row {i} says {'good' if i % 2 else 'bad'} things about film {i * 7 % 101}" for i in range(n)]
    texts[0] = TRICKY_TEXT
    columns = {
        "row_id": np.arange(1000, 1000 + n), "text": texts, "label": np.where(np.arange(n) % 2, "fresh", "rotten"),
        "perplexity": perplexity, "aum": rng.normal(0, 1, n),
        "data_map_confidence": rng.uniform(0, 1, n), "data_map_variability": rng.uniform(0, 0.5, n),
        "cluster": np.arange(n) % 3, "kept": kept,
        "dropped_by": pa.array([None if k else "perplexity > 60th percentile" for k in kept], type=pa.string()),
    }
    if audio_dir is not None:
        audio_dir.mkdir(parents=True, exist_ok=True)
        columns["audio"] = [str(write_clip(audio_dir / f"clip{i}.wav")) for i in range(n)]
    return pa.table(columns)


def page_data(html_path: Path) -> dict:
    """The JSON the report page draws (the ``#dprune-data`` script element)."""
    text = html_path.read_text(encoding="utf-8")
    start = text.index('<script type="application/json" id="dprune-data">')
    start = text.index(">", start) + 1
    return json.loads(text[start:text.index("</script>", start)])
