"""``dprune store ...`` command line."""

from __future__ import annotations

import json
import os

import pyarrow as pa
import pytest

from dprune.cli import build_parser, main
from dprune.store import ArtifactStore


@pytest.fixture
def store(tmp_path):
    store = ArtifactStore(str(tmp_path / "store"))
    store.write_table("embed", "aaa", pa.table({"x": list(range(30))}), config={"model": "m"}, shard_rows=10)
    store.write_table("scores", "bbb", pa.table({"s": [0.5, 0.25]}), config={})
    w = store.open_writer("embed", "partial", config={}, num_shards=2)
    w.write_shard(0, pa.table({"x": [1]}))
    return store


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ls_lists_complete_and_partial(store, capsys):
    code, out, _ = _run(capsys, "store", "ls", "--root", store.root)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["STAGE", "KEY", "STATUS", "ROWS", "SHARDS", "SIZE", "CREATED"]
    assert any(line.split()[:5] == ["embed", "aaa", "complete", "30", "3"] for line in lines)
    assert any(line.split()[:3] == ["embed", "partial", "partial"] for line in lines)
    code, out, _ = _run(capsys, "store", "ls", "--root", store.root, "--stage", "scores", "--json")
    assert code == 0
    assert [(r["stage"], r["key"], r["rows"]) for r in json.loads(out)] == [("scores", "bbb", 2)]


def test_default_root_comes_from_environment(store, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("DPRUNE_STORE", store.root)
    code, out, _ = _run(capsys, "store", "ls")
    assert code == 0 and "aaa" in out
    monkeypatch.delenv("DPRUNE_STORE")
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(capsys, "store", "ls")
    assert code == 0 and "(no artifacts)" in out


def test_show_prints_the_manifest(store, capsys):
    code, out, _ = _run(capsys, "store", "show", "--root", store.root, "embed/aaa")
    assert code == 0
    manifest = json.loads(out)
    assert manifest["config"] == {"model": "m"} and manifest["num_rows"] == 30
    code, _, err = _run(capsys, "store", "show", "--root", store.root, "embed/nope")
    assert code == 1 and "does not exist" in err and "embed/nope" in err


def test_verify_exit_code(store, capsys):
    code, out, _ = _run(capsys, "store", "verify", "--root", store.root)
    assert code == 0 and "OK: 2 artifact(s)" in out
    shard = store.manifest("embed/aaa")["shards"][1]["name"]
    path = os.path.join(store.root, "embed", "aaa", shard)
    data = bytearray(open(path, "rb").read())
    data[-10] ^= 0xFF
    open(path, "wb").write(bytes(data))
    code, out, err = _run(capsys, "store", "verify", "--root", store.root)
    assert code == 1 and "embed/aaa" in out and "sha256 mismatch" in out and "dprune store rm" in err
    code, out, _ = _run(capsys, "store", "verify", "--root", store.root, "scores/bbb")
    assert code == 0
    code, out, _ = _run(capsys, "store", "verify", "--root", store.root, "scores/missing")
    assert code == 1 and "does not exist" in out


def test_gc_dry_run_then_gc(store, capsys):
    code, out, _ = _run(capsys, "store", "gc", "--root", store.root, "--dry-run")
    assert code == 0 and "would remove embed/partial" in out
    assert store.ls()[1]["key"] == "partial"
    code, out, _ = _run(capsys, "store", "gc", "--root", store.root)
    assert code == 0 and "removed embed/partial" in out
    assert [r["key"] for r in store.ls()] == ["aaa", "bbb"]


def test_rm(store, capsys):
    code, out, _ = _run(capsys, "store", "rm", "--root", store.root, "scores/bbb")
    assert code == 0 and not store.exists("scores/bbb")
    code, _, err = _run(capsys, "store", "rm", "--root", store.root, "scores/bbb")
    assert code == 1 and "not found" in err


def test_bad_arguments(store, capsys):
    code, _, err = _run(capsys, "store", "show", "--root", store.root, "no-slash")
    assert code == 1 and "STAGE/KEY" in err
    with pytest.raises(SystemExit) as exc:
        main(["store", "frobnicate"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        main([])
    assert "store" in build_parser().format_help()
    with pytest.raises(SystemExit) as exc:
        main(["store", "ls", "--no-such-option"])
    assert exc.value.code == 2 and "--no-such-option" in capsys.readouterr().err


def test_kenlm_command_forwards_its_arguments(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["kenlm", "--help"])
    assert exc.value.code == 0 and "lmplz" in capsys.readouterr().out
    assert main(["kenlm", "deps"]) == 0
