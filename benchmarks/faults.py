#!/usr/bin/env python
"""Fault injection on the artifact store and on whole flow runs: how often a wrong result is used or data is lost.

**Store part.** Each fault is tried ``--trials`` times (fewer with ``--quick``) against a local
store, with a "stage" that writes a 6-shard table (``ArtifactStore.write_table``) and a "reader"
that uses it the way stages do (``exists`` then ``read_table``):

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
not counted).

**Flow part.** ``python flows/prune.py`` (the default stages with small settings, on
``--rows`` rows of the bundled data) against one Prefect server that the script starts on
127.0.0.1 (or ``--prefect-api``). A clean run is the reference. Then:

* ``sigkill_<stage>``: a run is started and its process group SIGKILLed at a random moment
  of that stage (after the previous stage's task finished, within the time the stage took in
  the reference run; the last column counts the kills that came before the stage ended). A
  chain kills each stage in turn, each run resuming the last one's store. After each kill:
  every committed artifact must equal the reference's artifact of the same key (else
  **wrong**), no committed artifact may disappear or change, ``verify()`` must be clean
  (else **lost**), and a reader holding the output folder's lock must see one run's
  complete output (the folder starts with the files of an earlier run with another pruner);
* ``rerun_after_kills``: then a run to the end; its kept ids, ``scores.parquet``, pruned
  data (Parquet and ``save_to_disk``) and report summary must equal the reference's;
* ``concurrent_runs_one_store``: two runs at once on a new store, different pruners and
  outputs: both must finish with the results of runs made alone;
* ``concurrent_runs_one_output``: two runs with different pruners into one ``--output``:
  every look (taking the folder's lock, every 0.2 s) and the end state must be one run's
  complete output (kept ids, Parquet, ``save_to_disk``, ``scores.parquet`` and the report
  agree), and both runs must finish (the second waits).

Full: every stage killed in each of ``--chains`` chains (3), one store pair, two output
pairs (~10 minutes on 2 cores); ``--quick``: kills in embeddings, perplexity and export and
one output pair; ``--smoke``: text stages without torch, one kill in the perplexity shards
and one output pair (the slow test). Tables are printed in Markdown (for the README); the
last line is one JSON object. Usage:
``python benchmarks/faults.py [--quick | --smoke] [--only store|flows] [--kill STAGE ...] [--chains N] [--seed S]``.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

REPO = os.path.dirname(_HERE)
sys.path.insert(0, REPO)  # this checkout's dprune and benchmarks, first

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from benchmarks.flow import base_env, start_server, stop_server, write_subset  # noqa: E402
from dprune.core.outputs import output_lock  # noqa: E402
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


# =========================================================================== faults in whole flow runs
#: The default prune flow's stages in run order, and the Prefect tasks (their names in the flow's log)
#: that do each one's work.
FLOW_STAGES = {"dataset": ("load",), "embeddings": ("embed-shard", "embed"), "clusters": ("cluster",),
               "kenlm": ("kenlm",), "perplexity": ("perplexity-shard", "perplexity"), "dynamics": ("train",),
               "scores": ("score", "scores"), "selection": ("prune",), "export": ("export",), "report": ("report",)}
#: Small settings of the default flow, so that a cold run takes seconds.
FLOW_SETTINGS = ["--embedding", "shard_rows=100", "--clustering", "num_clusters=4",
                 "--perplexity", "order=3,shard_rows=100", "--dynamics", "seeds=[0]"]
#: ``--smoke``: text stages without torch (the slow test's setting).
SMOKE_SETTINGS = ["--no-embedding", "--perplexity", "order=3,shard_rows=50"]
SMOKE_STAGES = ("dataset", "kenlm", "perplexity", "selection", "export", "report")
OTHER_PRUNER = "top_k:k=0.3,score_column=perplexity"
FINISHED = re.compile(r"^(\d\d):(\d\d):(\d\d\.\d+) .*Task run '([a-z][a-z_-]*?)-[0-9a-f]{3}' - Finished in state Completed")
BEGUN = re.compile(r"^(\d\d):(\d\d):(\d\d\.\d+) .*Beginning flow run")


def flow_log(path: Path) -> tuple[float | None, dict[str, list[float]]]:
    """When the flow run began and when each task finished (seconds of the day), from its log."""
    begun, finished = None, {}
    text = path.read_text(errors="replace") if path.exists() else ""
    for line in text.splitlines():
        if (m := FINISHED.match(line)):
            finished.setdefault(m.group(4), []).append(int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)))
        elif begun is None and (m := BEGUN.match(line)):
            begun = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    return begun, finished


class Flows:
    """Runs ``flows/prune.py`` on one small dataset against one Prefect server, and the checks."""

    def __init__(self, work: Path, env: dict[str, str], dataset: str, settings: list[str], stages: tuple[str, ...]):
        self.work, self.env, self.dataset, self.settings, self.stages = work, env, dataset, settings, stages
        self.runs = 0
        self.windows: dict[str, list[float]] = {}  # stage -> seconds each of its tasks took

    def start(self, store: str, output: str, pruner: str | None = None) -> tuple[subprocess.Popen, Path]:
        self.runs += 1
        log = self.work / "logs" / f"{self.runs:03d}.log"
        command = [sys.executable, "flows/prune.py", "--dataset", self.dataset, "--store", store,
                   "--output", output, *self.settings, *(["--pruner", pruner] if pruner else [])]
        with open(log, "w") as handle:
            proc = subprocess.Popen(command, env=self.env, cwd=REPO, stdout=handle, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        return proc, log

    def run(self, store: str, output: str, pruner: str | None = None) -> Path:
        proc, log = self.start(store, output, pruner)
        if proc.wait() != 0:
            raise SystemExit(f"prune flow failed ({proc.returncode}); the end of {log}:\n{log.read_text()[-3000:]}")
        return log

    def learn(self, log: Path) -> None:
        """Task counts, and how long each task of each stage took, from a clean cold run's log."""
        begun, finished = flow_log(log)
        previous = begun
        for stage in self.stages:
            ends = sorted(t for name in FLOW_STAGES[stage] for t in finished.get(name, ()))
            if not ends:
                raise SystemExit(f"the reference run's log {log} shows no task of stage {stage!r} "
                                 f"(looked for {FLOW_STAGES[stage]}); has the flow changed?")
            self.windows[stage] = [max(end - start, 0.05) for start, end in zip([previous, *ends], ends)]
            previous = ends[-1]

    def finished(self, log: Path, stage: str | None) -> int:
        """How many of ``stage``'s tasks the run writing ``log`` has finished (None: 1 once its flow run began)."""
        begun, finished = flow_log(log)
        if stage is None:
            return int(begun is not None)
        return sum(len(finished.get(name, ())) for name in FLOW_STAGES[stage])

    def done(self, log: Path, stage: str | None) -> bool:
        """Whether the run writing ``log`` has finished ``stage`` (None: whether its flow run began)."""
        return self.finished(log, stage) >= (1 if stage is None else len(self.windows[stage]))

    def kill_inside(self, store: str, output: str, stage: str, rng: random.Random) -> bool:
        """Start a run, SIGKILL its process group at a random moment of ``stage``; True when the
        kill came before the stage ended (else the run was further on, or finished).

        The moment: during a random one of the stage's tasks (a shard, the commit...), after the
        task before it finished, within 0.8 of the time that task took in the reference run
        (halved each time a kill came after the stage ended).
        """
        index = self.stages.index(stage)
        previous = self.stages[index - 1] if index else None
        task = rng.randrange(len(self.windows[stage]))
        proc, log = self.start(store, output)
        while proc.poll() is None and not (self.done(log, previous) and self.finished(log, stage) >= task):
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.8 * self.windows[stage][task]))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        inside = not self.done(log, stage)
        if not inside:  # the task ran faster than in the (cold) reference run: aim earlier next time
            self.windows[stage][task] /= 2
        return inside


def committed(root: str) -> dict[str, tuple]:
    """``stage/key`` -> the checksums its manifest lists, for every committed artifact."""
    store = ArtifactStore(root)
    out = {}
    for ref in store.iter_artifact_dirs():
        status, m, _ = store.load_manifest(ref)
        if status == "ok":
            out[ref.name] = (tuple(s["sha256"] for s in m["shards"]), tuple(sorted((f["name"], f["sha256"]) for f in m["files"])))
    return out


def wrong_artifacts(root: str, reference: str) -> list[str]:
    """Committed artifacts whose content differs from the reference store's artifact of the same key."""
    ours, theirs = committed(root), committed(reference)
    wrong = []
    for name, sums in ours.items():
        if name not in theirs or sums == theirs[name]:
            continue
        if sums[1] != theirs[name][1] or not ArtifactStore(root).read_table(name).equals(ArtifactStore(reference).read_table(name)):
            wrong.append(name)
    return wrong


def output_state(folder: Path) -> dict:
    """What an output folder says: the kept rows by every file, the selection and the report's counts."""
    import datasets

    kept = json.loads((folder / "kept_ids.json").read_text())
    scores = pq.read_table(folder / "scores.parquet")
    summary = json.loads((folder / "report" / "summary.json").read_text())
    return {
        "kept_ids": sorted(kept["kept_row_ids"]),
        "pruned": sorted(pq.read_table(folder / "pruned.parquet").column("row_id").to_pylist()),
        "pruned_dataset": sorted(datasets.load_from_disk(str(folder / "pruned_dataset"))["row_id"]),
        "scores_kept": sorted(r for r, k in zip(scores.column("row_id").to_pylist(), scores.column("kept").to_pylist()) if k),
        "report_kept": summary["kept"], "report_rows": summary["rows"], "rows_in": kept["rows_in"],
        "report_selection": f"dPrune selection {kept['selection']['key'][:12]}" in (folder / "report" / "report.html").read_text(),
    }


def output_problems(folder: Path, reference: Path | None = None) -> list[str]:
    """Why ``folder`` is not one run's complete output (and, with ``reference``, not that run's)."""
    try:
        state = output_state(folder)
    except (OSError, KeyError, ValueError) as exc:
        return [f"unreadable: {exc!r}"]
    problems = [f"{name} differs from kept_ids.json" for name in ("pruned", "pruned_dataset", "scores_kept")
                if state[name] != state["kept_ids"]]
    if state["report_kept"] != len(state["kept_ids"]) or state["report_rows"] != state["rows_in"]:
        problems.append("the report's counts differ from kept_ids.json")
    if not state["report_selection"]:
        problems.append("the report is of another selection")
    if reference is not None and not problems:
        if state["kept_ids"] != output_state(reference)["kept_ids"]:
            problems.append("kept rows differ from the reference run")
        for name in ("scores.parquet", "pruned.parquet"):
            if not pq.read_table(folder / name).equals(pq.read_table(reference / name)):
                problems.append(f"{name} differs from the reference run")
        if (folder / "report" / "summary.json").read_text() != (reference / "report" / "summary.json").read_text():
            problems.append("the report's summary differs from the reference run")
    return problems


class FlowOutcome(Outcome):
    def __init__(self) -> None:
        super().__init__()
        self.inside = 0  # kills that came before the target stage ended
        self.notes: list[str] = []

    def check_store(self, root: str, reference: str, before: dict[str, tuple]) -> dict[str, tuple]:
        """Count a wrong committed artifact or a lost one (or a verify problem); return what is committed."""
        wrong = wrong_artifacts(root, reference)
        after = committed(root)
        lost = [name for name in before if after.get(name) != before[name]]
        problems = ArtifactStore(root).verify()
        self.wrong += bool(wrong)
        self.lost += bool(lost or problems)
        self.notes += [f"wrong {n}" for n in wrong] + [f"lost {n}" for n in lost] + problems
        return after


def kill_chain(flows: Flows, stages: list[str], root: str, output: Path, reference: tuple[str, Path],
               rng: random.Random, results: dict[str, FlowOutcome]) -> None:
    """Kill a run inside each of ``stages`` in turn (each run resumes the last), then run to the end and
    compare with the reference run."""
    before: dict[str, tuple] = {}
    for stage in stages:
        out = results[f"sigkill_{stage}"]
        out.tried += 1
        out.inside += flows.kill_inside(root, str(output), stage, rng)
        before = out.check_store(root, reference[0], before)
        with output_lock(output):  # a reader that takes the lock sees one run's files, or none yet
            problems = output_problems(output) if (output / "kept_ids.json").exists() else []
        out.wrong += bool(problems)
        out.notes += problems
    out = results["rerun_after_kills"]
    out.tried += 1
    proc, log = flows.start(root, str(output))
    if proc.wait() != 0:
        out.notes.append(f"the rerun failed; see {log}")
        out.errors += 1
        return
    out.check_store(root, reference[0], before)
    problems = output_problems(output, reference[1])
    out.wrong += bool(problems)
    out.notes += problems


def concurrent_store(flows: Flows, root: str, work: Path, references: dict[str | None, Path],
                     out: FlowOutcome) -> None:
    """Two runs at once on one new store, different pruners and outputs: both as when run alone."""
    out.tried += 1
    outputs = {pruner: work / f"out-{uuid.uuid4().hex[:8]}" for pruner in references}
    procs = {pruner: flows.start(root, str(outputs[pruner]), pruner) for pruner in references}
    for pruner, (proc, log) in procs.items():
        if proc.wait() != 0:
            out.lost += 1
            out.notes.append(f"a concurrent run failed; see {log}")
        else:
            problems = output_problems(outputs[pruner], references[pruner])
            out.wrong += bool(problems)
            out.notes += problems
    problems = ArtifactStore(root).verify()
    out.lost += bool(problems)
    out.notes += problems


def concurrent_output(flows: Flows, root: str, output: Path, references: dict[str | None, Path],
                      out: FlowOutcome) -> None:
    """Two runs at once into one output folder: whenever a reader holding the folder's lock looks,
    and at the end, the folder is one run's complete output."""
    out.tried += 1
    procs = [flows.start(root, str(output), pruner) for pruner in references]
    looks = mixed = 0
    while any(proc.poll() is None for proc, _ in procs):
        if (output / "kept_ids.json").exists():
            with output_lock(output):
                looks += 1
                mixed += bool(output_problems(output))
        time.sleep(0.2)
    for proc, log in procs:
        if proc.returncode != 0:
            out.lost += 1
            out.notes.append(f"a run into a shared output failed; see {log}")
    final = [output_problems(output, ref) for ref in references.values()]
    out.wrong += bool(mixed) or all(final)
    out.notes.append(f"{looks} looks under the lock, {mixed} saw a mixed folder"
                     + (f"; at the end: {final}" if all(final) else ""))


def run_flows(work: Path, env: dict[str, str], *, chains: int, stages: tuple[str, ...], kill_stages: list[str],
              store_pairs: int, output_pairs: int, settings: list[str], rows: int, seed: int) -> dict[str, FlowOutcome]:
    rng = random.Random(seed)
    (work / "logs").mkdir(parents=True, exist_ok=True)
    flows = Flows(work, env, write_subset(work / "subset.parquet", rows), settings, stages)
    reference = str(work / "reference-store")
    references: dict[str | None, Path] = {None: work / "reference-out", OTHER_PRUNER: work / "reference-out-other"}
    flows.learn(flows.run(reference, str(references[None])))
    flows.run(reference, str(references[OTHER_PRUNER]), OTHER_PRUNER)
    results = {f"sigkill_{stage}": FlowOutcome() for stage in stages if stage in kill_stages}
    results["rerun_after_kills"] = FlowOutcome()
    results["concurrent_runs_one_store"] = FlowOutcome()
    results["concurrent_runs_one_output"] = FlowOutcome()
    for chain in range(chains):  # the output folder holds an earlier run's files, as when a user re-prunes
        shutil.copytree(references[OTHER_PRUNER], work / f"chain-{chain}-out")
        kill_chain(flows, kill_stages, str(work / f"chain-{chain}-store"), work / f"chain-{chain}-out",
                   (reference, references[None]), rng, results)
    for pair in range(store_pairs):
        concurrent_store(flows, str(work / f"pair-{pair}-store"), work, references,
                         results["concurrent_runs_one_store"])
    for pair in range(output_pairs):
        concurrent_output(flows, reference, work / f"shared-out-{pair}", references,
                          results["concurrent_runs_one_output"])
    return {name: o for name, o in results.items() if o.tried}


def print_table(results: dict[str, Outcome], extra: str | None = None) -> None:
    """The Markdown table of one part."""
    header = "| fault | tried | wrong result used | data lost | reported errors |" + (f" {extra} |" if extra else "")
    print(header)
    print("| --- |" + " ---: |" * (header.count("|") - 2))
    for name, o in results.items():
        cells = [name, o.tried, o.wrong, o.lost, o.errors] + ([o.inside if name.startswith("sigkill") else ""]
                                                              if extra else [])
        print("| " + " | ".join(map(str, cells)) + " |")


def flow_part(args: argparse.Namespace, work: Path) -> dict[str, FlowOutcome]:
    """Faults injected into whole prune-flow runs, against one Prefect server."""
    (work / "logs").mkdir(parents=True, exist_ok=True)
    env = base_env(work)
    server = None
    if args.prefect_api:
        env["PREFECT_API_URL"] = args.prefect_api
    else:
        server, env["PREFECT_API_URL"] = start_server(env, work / "server.log")
    env["PREFECT_LOGGING_LEVEL"] = "INFO"  # the task runs' "Finished" lines tell where a run is
    env["PYTHONUNBUFFERED"] = "1"
    if args.smoke:
        plan = {"chains": 1, "stages": SMOKE_STAGES, "kill_stages": ["perplexity"], "store_pairs": 0,
                "output_pairs": 1, "settings": SMOKE_SETTINGS}
    elif args.quick:
        plan = {"chains": 1, "stages": tuple(FLOW_STAGES), "kill_stages": ["embeddings", "perplexity", "export"],
                "store_pairs": 0, "output_pairs": 1, "settings": FLOW_SETTINGS}
    else:
        plan = {"chains": 3, "stages": tuple(FLOW_STAGES), "kill_stages": list(FLOW_STAGES),
                "store_pairs": 1, "output_pairs": 2, "settings": FLOW_SETTINGS}
    if args.kill:
        unknown = sorted(set(args.kill) - set(plan["stages"]))
        if unknown:
            raise SystemExit(f"error: --kill {unknown}: not stages of this run; they are {list(plan['stages'])}")
        plan["kill_stages"] = args.kill
    plan["chains"] = args.chains if args.chains is not None else plan["chains"]
    try:
        return run_flows(work, env, rows=args.rows, seed=args.seed, **plan)
    finally:
        if server is not None:
            stop_server(server)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 store trials per fault; 3 flow kills, one pair")
    parser.add_argument("--trials", type=int, default=None, help="store trials per fault (default 20)")
    parser.add_argument("--chains", type=int, help="flow kill chains, each killing every chosen stage once "
                                                    "(default 3; --quick and --smoke: 1)")
    parser.add_argument("--rows", type=int, default=300, help="rows of the bundled data the flows prune")
    parser.add_argument("--only", choices=["store", "flows"], help="run one part")
    parser.add_argument("--smoke", action="store_true",
                        help="flows only: one kill inside the perplexity shards and one shared-output pair, "
                             "text stages without torch (what the slow test runs)")
    parser.add_argument("--kill", nargs="+", metavar="STAGE", help="flow stages to kill in (default: by mode)")
    parser.add_argument("--prefect-api", help="use this running Prefect server instead of starting one")
    parser.add_argument("--keep", help="keep the work folder (stores, outputs, logs) at this path")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", nargs=2, metavar=("ROOT", "VARIANT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        stage(args.worker[0], int(args.worker[1]))
        return 0
    parts = ["flows"] if args.smoke else [args.only] if args.only else ["store", "flows"]
    trials = args.trials or (3 if args.quick else 20)
    summary: dict[str, object] = {"benchmark": "faults", "target": {"wrong_results": 0, "data_lost": 0}}
    wrong = lost = 0
    with tempfile.TemporaryDirectory(prefix="dprune-faults-") as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if "store" in parts:
            start = time.perf_counter()
            results = run(trials, args.seed, str(work / "store-part"))
            print(f"store faults ({trials} trials each, {time.perf_counter() - start:.0f} s):")
            print_table(results)
            summary["store"] = {"trials_per_fault": trials, "faults": {k: vars(v) for k, v in results.items()}}
            wrong += sum(o.wrong for o in results.values())
            lost += sum(o.lost for o in results.values())
        if "flows" in parts:
            start = time.perf_counter()
            flow_results = flow_part(args, work / "flow-part")
            seconds = time.perf_counter() - start
            print(f"flow faults ({args.rows} rows, {seconds:.0f} s; load average {os.getloadavg()[0]:.1f}):")
            print_table(flow_results, extra="killed inside the stage")
            for name, o in flow_results.items():
                for note in o.notes:
                    print(f"  {name}: {note}")
            summary["flows"] = {"seconds": round(seconds, 1), "rows": args.rows,
                                "faults": {k: vars(v) for k, v in flow_results.items()}}
            wrong += sum(o.wrong for o in flow_results.values())
            lost += sum(o.lost for o in flow_results.values())
    summary.update({"wrong_results": wrong, "data_lost": lost, "load_average": round(os.getloadavg()[0], 2),
                    "passed": wrong == 0 and lost == 0})
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
