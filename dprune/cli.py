"""``dprune`` command line.

    dprune store ls     [--root ROOT] [--stage STAGE] [--json]
    dprune store show   [--root ROOT] STAGE/KEY
    dprune store verify [--root ROOT] [STAGE/KEY ...]
    dprune store gc     [--root ROOT] [--dry-run] [--older-than SECONDS] [--keep-partial]
    dprune store rm     [--root ROOT] STAGE/KEY [STAGE/KEY ...]
    dprune store init   [--root ROOT]
    dprune scores       [--root ROOT] --selection STAGE/KEY [--output scores.parquet]
    dprune report       [--root ROOT] --selection STAGE/KEY [--output report]

``verify``, ``gc`` and ``rm`` refuse a root that is not a dPrune store (a folder marked by
``.dprune-store.json``, written when a store is created), so a wrong ``--root`` never
touches other files.

The store root defaults to ``$DPRUNE_STORE``, else ``./.dprune/store``. New command
groups register themselves in :func:`build_parser` the way :func:`_add_store_commands`
does: one sub-parser per group, one function per command set with ``set_defaults(func=...)``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from dprune.store import ArtifactStore, StoreError

__all__ = ["build_parser", "default_store_root", "main"]

DEFAULT_STORE_ROOT = os.path.join(".", ".dprune", "store")


def default_store_root() -> str:
    """``$DPRUNE_STORE`` if set, else ``./.dprune/store``."""
    return os.environ.get("DPRUNE_STORE") or DEFAULT_STORE_ROOT


def _human(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def _store(args: argparse.Namespace) -> ArtifactStore:
    return ArtifactStore(args.root or default_store_root())


def _cmd_ls(args: argparse.Namespace) -> int:
    rows = _store(args).ls(args.stage)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("(no artifacts)")
        return 0
    header = ("STAGE", "KEY", "STATUS", "ROWS", "SHARDS", "SIZE", "CREATED")
    table = [header] + [
        (r["stage"], r["key"], r["status"], "-" if r["rows"] is None else str(r["rows"]),
         "-" if r["shards"] is None else str(r["shards"]), _human(r["bytes"]), r["created"] or "-")
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    print(json.dumps(_store(args).manifest(args.artifact), indent=2, sort_keys=True))
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    store = _store(args)
    targets = args.artifacts or [None]
    problems = []
    for target in targets:
        problems.extend(store.verify(target))
    for p in problems:
        print(f"PROBLEM {p}")
    if problems:
        print(f"{len(problems)} problem(s) in {store.root}. Delete the broken artifacts "
              "(`dprune store rm STAGE/KEY`) and re-run their stages.", file=sys.stderr)
        return 1
    checked = len(args.artifacts) if args.artifacts else sum(r["complete"] for r in store.ls())
    print(f"OK: {checked} artifact(s) verified in {store.root}")
    return 0


def _cmd_gc(args: argparse.Namespace) -> int:
    store = _store(args)
    removed = store.gc(partial=not args.keep_partial, older_than=args.older_than, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for item in removed:
        print(f"{verb} {item}")
    print(f"{len(removed)} item(s) {verb} from {store.root}")
    return 0


def _cmd_rm(args: argparse.Namespace) -> int:
    store = _store(args)
    status = 0
    for target in args.artifacts:
        if store.delete(target):
            print(f"deleted {target}")
        else:
            print(f"not found: {target} in {store.root}", file=sys.stderr)
            status = 1
    return status


def _cmd_init(args: argparse.Namespace) -> int:
    store = _store(args)
    store.init()
    print(f"store ready at {store.root}")
    return 0


def _root_options() -> argparse.ArgumentParser:
    """The parent parser of every command that opens a store: its ``--root`` option."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", default=None,
                        help="store root: path or fsspec URL (default: $DPRUNE_STORE or ./.dprune/store)")
    return common


def _add_store_commands(subparsers: argparse._SubParsersAction) -> None:
    common = _root_options()
    store = subparsers.add_parser("store", help="inspect and maintain the artifact store")
    cmds = store.add_subparsers(dest="store_command", metavar="COMMAND", required=True)

    p = cmds.add_parser("ls", parents=[common], help="list artifacts (complete and partial)")
    p.add_argument("--stage", default=None, help="only this stage")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_cmd_ls)

    p = cmds.add_parser("show", parents=[common], help="print an artifact's manifest")
    p.add_argument("artifact", metavar="STAGE/KEY")
    p.set_defaults(func=_cmd_show)

    p = cmds.add_parser("verify", parents=[common], help="recompute checksums; exit 1 on any problem")
    p.add_argument("artifacts", nargs="*", metavar="STAGE/KEY", help="default: every artifact")
    p.set_defaults(func=_cmd_verify)

    p = cmds.add_parser("gc", parents=[common],
                        help="remove partial artifacts, stray and quarantined files (folders of "
                             "live writers are skipped)")
    p.add_argument("--dry-run", action="store_true", help="only print what would be removed")
    p.add_argument("--older-than", type=float, default=None, metavar="SECONDS",
                   help="only remove things untouched for this many seconds")
    p.add_argument("--keep-partial", action="store_true", help="keep manifest-less directories")
    p.set_defaults(func=_cmd_gc)

    p = cmds.add_parser("rm", parents=[common], help="delete artifacts (manifest first)")
    p.add_argument("artifacts", nargs="+", metavar="STAGE/KEY")
    p.set_defaults(func=_cmd_rm)

    p = cmds.add_parser("init", parents=[common], help="create a store (an empty or new folder, marked as a store)")
    p.set_defaults(func=_cmd_init)


def _selection(args: argparse.Namespace):
    store = _store(args)
    stage, _, key = args.selection.rpartition("/")
    return store, store.ref(stage or "selection", key)


def _cmd_scores(args: argparse.Namespace) -> int:
    import pyarrow.parquet as pq

    from dprune.report import scores_table
    from dprune.stages.report import selection_table_of

    store, ref = _selection(args)
    table = scores_table(selection_table_of(store, ref))
    pq.write_table(table, args.output)
    kept = sum(table.column("kept").to_pylist())
    print(f"{args.output}: {table.num_rows:,} rows ({kept:,} kept), columns {', '.join(table.column_names)}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from dprune.stages.report import rebuild_report

    store, ref = _selection(args)
    report = rebuild_report(store, ref, args.output)
    print(f"report of {ref.name}: {report.html} (kept {report.summary['kept']:,} of {report.summary['rows']:,} rows)")
    return 0


def _add_selection_commands(subparsers: argparse._SubParsersAction) -> None:
    common = _root_options()
    common.add_argument("--selection", required=True, metavar="STAGE/KEY",
                        help="a stored selection, e.g. selection/3f2a... (see `dprune store ls --stage selection`)")
    p = subparsers.add_parser("scores", parents=[common],
                              help="write every row of a selection with its scores, label, cluster and kept flag")
    p.add_argument("--output", "-o", default="scores.parquet", help="Parquet file to write (default scores.parquet)")
    p.set_defaults(func=_cmd_scores)
    p = subparsers.add_parser("report", parents=[common],
                              help="(re)build the interactive report of a stored selection without rerunning anything")
    p.add_argument("--output", "-o", default="report", help="folder to write report.html into (default ./report)")
    p.set_defaults(func=_cmd_report)


def build_parser() -> argparse.ArgumentParser:
    """The ``dprune`` argument parser (one sub-parser per command group)."""
    parser = argparse.ArgumentParser(prog="dprune", description="dPrune data pruning tools.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_store_commands(sub)
    _add_selection_commands(sub)
    kenlm = sub.add_parser("kenlm", help="build or locate the KenLM tools (lmplz, build_binary)", add_help=False)
    kenlm.add_argument("kenlm_args", nargs=argparse.REMAINDER, help="arguments of python -m dprune.lm.tools")
    kenlm.set_defaults(func=_kenlm)
    return parser


def _kenlm(args: argparse.Namespace) -> int:
    from dprune.lm.tools import main as kenlm_main

    return kenlm_main(args.kenlm_args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dprune`` console script; returns the exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "kenlm":  # options before the kenlm command word (e.g. --help) are its own
        args.kenlm_args = extra + args.kenlm_args
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.func(args) or 0)
    except (StoreError, ValueError) as exc:
        print(f"dprune: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
