#!/usr/bin/env python
"""Fault injection on the artifact store: how often a wrong result is used or data is lost.

Each fault is tried ``--trials`` times (fewer with ``--quick``) against a local store, with a
"stage" that writes a 6-shard table (``ArtifactStore.write_table``) and a "reader" that
uses it the way stages do (``exists`` then ``read_table``):

* ``sigkill``: a writer process is SIGKILLed at a random moment, then the stage is re-run;
* ``byte_flip``: one byte of a random committed shard is flipped, then the stage re-runs;
* ``truncate``: a random committed shard is cut short, then the stage re-runs;
* ``flip_and_drop_manifest``: a byte flip, and the manifest deleted (the writer must not
  reuse the same-size corrupt shard);
* ``gc_during_run``: ``gc()`` runs at a random moment while a writer process writes;
* ``concurrent_runs``: two writer processes with different outputs race on one key;
* ``gc_wrong_root``: ``gc()`` pointed at a folder of user files.

A trial counts as **wrong** when the reader gets rows that differ from what some writer
wrote, without an error, and as **lost** when a finished writer's artifact (or a user
file) is gone or unreadable afterwards. Errors that name the problem are fine (reported,
not counted). The table is printed in Markdown (for the README); the last line is one JSON
object. Usage: ``python benchmarks/faults.py [--quick] [--trials N] [--seed S]``.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from dprune.store import ArtifactStore, StoreError  # noqa: E402

N_SHARDS, ROWS = 6, 20_000
STAGE, KEY = "faults", "k" * 32


def make_table(variant: int) -> pa.Table:
    rng = np.random.default_rng(variant)
    n = N_SHARDS * ROWS
    return pa.table({"row_id": np.arange(n), "x": rng.standard_normal(n), "y": rng.integers(0, 1 << 40, n)})


def stage(root: str, variant: int = 0) -> None:
    """Compute the artifact unless it exists (what every stage does)."""
    store = ArtifactStore(root)
    if not store.exists(STAGE, KEY):
        store.write_table(STAGE, KEY, make_table(variant), config={}, shard_rows=ROWS)


def spawn(root: str, variant: int = 0) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", root, str(variant)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class Outcome:
    def __init__(self) -> None:
        self.tried = self.wrong = self.lost = self.errors = 0

    def read(self, root: str, allowed: list[pa.Table], must_exist: bool) -> None:
        """Use the artifact as a stage would; classify what came back."""
        store = ArtifactStore(root)
        try:
            if not store.exists(STAGE, KEY):
                self.lost += must_exist
                return
            table = store.read_table(STAGE, KEY)
        except StoreError:
            self.errors += 1
            return
        ok = all(any(table.slice(i * ROWS, ROWS).equals(t.slice(i * ROWS, ROWS)) for t in allowed)
                 for i in range(N_SHARDS))
        self.wrong += not ok


def shard_paths(root: str) -> list[str]:
    store = ArtifactStore(root)
    d = store.artifact_dir(store.ref(STAGE, KEY))
    return [os.path.join(d, s["name"]) for s in store.manifest(STAGE, KEY)["shards"]]


def damage(root: str, rng: random.Random, kind: str) -> None:
    path = rng.choice(shard_paths(root))
    data = bytearray(open(path, "rb").read())
    if kind == "truncate":
        data = data[: rng.randrange(len(data))]
    else:
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    with open(path, "r+b") as f:  # in place, as bit rot or a stray write would
        f.truncate(0)
        f.write(data)
    if kind == "flip_and_drop_manifest":
        os.remove(os.path.join(os.path.dirname(path), "manifest.json"))


def run(trials: int, seed: int, workdir: str) -> dict[str, Outcome]:
    rng = random.Random(seed)
    expected = {v: make_table(v) for v in (0, 1)}
    start = time.perf_counter()
    stage(os.path.join(workdir, "timing"))
    write_s = time.perf_counter() - start
    results = {name: Outcome() for name in ("sigkill", "byte_flip", "truncate", "flip_and_drop_manifest",
                                             "gc_during_run", "concurrent_runs", "gc_wrong_root")}
    for t in range(trials):
        base = os.path.join(workdir, f"t{t}")
        # SIGKILL a writer at a random moment, then re-run the stage
        root = base + "-kill"
        proc = spawn(root)
        time.sleep(rng.uniform(0, write_s * 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        out = results["sigkill"]
        out.tried += 1
        out.read(root, [expected[0]], must_exist=False)
        stage(root)
        out.read(root, [expected[0]], must_exist=True)
        # corruption of committed shards, then the stage re-runs and the result is used
        for kind in ("byte_flip", "truncate", "flip_and_drop_manifest"):
            root = f"{base}-{kind}"
            stage(root)
            damage(root, rng, kind)
            out = results[kind]
            out.tried += 1
            stage(root)
            out.read(root, [expected[0]], must_exist=True)
        # gc at a random moment of a live run
        root = base + "-gc"
        proc = spawn(root)
        time.sleep(rng.uniform(0, write_s))
        ArtifactStore(root).gc() if ArtifactStore(root).is_store() else None
        out = results["gc_during_run"]
        out.tried += 1
        out.lost += proc.wait() != 0
        out.read(root, [expected[0]], must_exist=True)
        # two runs racing on one key with different outputs
        root = base + "-race"
        procs = [spawn(root, 0), spawn(root, 1)]
        out = results["concurrent_runs"]
        out.tried += 1
        out.lost += sum(p.wait() != 0 for p in procs)
        out.read(root, list(expected.values()), must_exist=True)
        # gc pointed at user files
        root = base + "-home"
        for rel in ("projects/mycode/main.py", "photos/2024/beach.jpg"):
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w") as f:
                f.write("precious")
        out = results["gc_wrong_root"]
        out.tried += 1
        try:
            ArtifactStore(root).gc()
        except StoreError:
            out.errors += 1
        out.lost += sum(not os.path.exists(os.path.join(root, rel))
                        for rel in ("projects/mycode/main.py", "photos/2024/beach.jpg"))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 trials per fault")
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", nargs=2, metavar=("ROOT", "VARIANT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        stage(args.worker[0], int(args.worker[1]))
        return 0
    trials = args.trials or (3 if args.quick else 20)
    with tempfile.TemporaryDirectory() as tmp:
        results = run(trials, args.seed, tmp)
    print("| fault | tried | wrong result used | data lost | reported errors |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, o in results.items():
        print(f"| {name} | {o.tried} | {o.wrong} | {o.lost} | {o.errors} |")
    wrong = sum(o.wrong for o in results.values())
    lost = sum(o.lost for o in results.values())
    print(json.dumps({"benchmark": "store_faults", "trials_per_fault": trials, "wrong_results": wrong,
                      "data_lost": lost, "target": {"wrong_results": 0, "data_lost": 0},
                      "faults": {k: vars(v) for k, v in results.items()}, "passed": wrong == 0 and lost == 0}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
