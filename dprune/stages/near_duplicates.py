"""Stage ``near_duplicates``: LSH over the stored signatures, verified pairs, one row kept per component.

Reads the ``minhash`` artifact batch by batch (one memory-mapped shard at a time) into LSH band keys
(8 bytes per band and row), finds candidate pairs, verifies them (exact shingle Jaccard
re-computed from the texts of the candidate rows only, or the MinHash estimate) and joins
the verified pairs into connected components (:mod:`dprune.corpus.minhash`). The key is
the signatures' key plus ``threshold``, ``bands`` and ``verify``; a stored result is
reused, so a rerun with other settings recomputes only this stage.

The candidates and their similarities are a resumable artifact of their own,
``near_duplicate_pairs``, with one shard per group of ``bands_per_piece`` bands: piece
``k`` holds the pairs whose *first* shared band falls in group ``k`` (so no pair is
verified twice), and a killed run recomputes only the pieces it had not committed.

Artifact, row-aligned: ``near_duplicate`` (1.0 for a later member of a component, else
0.0) and ``duplicate_of`` (the component's earliest row, ``-1`` for a kept row); ``meta``
counts candidates and verified pairs. :func:`near_duplicates_stage` returns it as a
scores artifact.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Sequence

import numpy as np
import pyarrow as pa

from dprune.core.memory import release_freed
from dprune.corpus.minhash import (
    band_keys,
    components,
    lsh_parameters,
    pair_jaccard,
    pairs_from_band_keys,
    signature_similarity,
)
from dprune.stages.minhash import table_to_signatures
from dprune.stages.runner import Stage, StageOutput, run_cached
from dprune.stages.scores import columns_stage
from dprune.store.layout import schema_from_b64

logger = logging.getLogger("dprune.stages")
NEAR_DUPLICATES = Stage("near_duplicates", version=1)
PAIRS = Stage("near_duplicate_pairs", version=1)
PAIRS_SCHEMA = pa.schema([("first", pa.int64()), ("second", pa.int64()), ("similarity", pa.float64())])
VERIFY_MODES = ("exact", "estimate")
#: Candidate pairs verified together by exact Jaccard: their rows' texts and shingle sets are held at once.
VERIFY_PAIRS = 4_096


def _similarity(store: Any, dataset_ref: Any, signatures_ref: Any, pairs: np.ndarray, verify: str) -> np.ndarray:
    if verify == "estimate":
        involved = np.unique(pairs)  # only the rows of candidate pairs are read again, shard by shard
        signatures = table_to_signatures(store.take(signatures_ref, involved))
        return signature_similarity(signatures, np.searchsorted(involved, pairs))
    manifest = store.manifest(signatures_ref)
    config, text_column = manifest["config"], manifest["meta"]["text_column"]
    normalizer = _normalizer(config["normalizer"])
    similarity = [np.zeros(0, dtype=np.float64)]
    # a group of pairs at a time: the texts and shingle sets held are those of one group's rows
    for start in range(0, len(pairs), VERIFY_PAIRS):
        group = pairs[start:start + VERIFY_PAIRS]
        involved = np.unique(group)
        texts = store.take(dataset_ref, involved, columns=[text_column]).column(text_column)
        similarity.append(pair_jaccard(group, involved, texts, unit=config["unit"], ngram=config["ngram"],
                                       normalizer=normalizer))
    return np.concatenate(similarity)


def _normalizer(config: dict) -> Any:
    from dprune.text.normalization import TextNormalizer

    if config.get("type") != "TextNormalizer":
        raise ValueError(
            "Exact verification re-shingles the texts and needs the signatures' normalizer, but they were made with "
            f"{config!r}, which cannot be rebuilt. Use verify='estimate' or a TextNormalizer / preset."
        )
    return TextNormalizer.from_config(config)


def band_layout(schema: pa.Schema, threshold: float, bands: int | None) -> tuple[int, int]:
    """(bands, rows per band) for signatures of ``schema``: chosen from ``threshold`` unless ``bands`` is given."""
    num_perm = schema.field("signature").type.list_size
    return lsh_parameters(num_perm, threshold) if bands is None else (bands, num_perm // bands)


def first_shared_in(store: Any, signatures_ref: Any, rows: int, first_band: int, stop_band: int) -> np.ndarray:
    """Pairs sharing a key in bands ``first_band .. stop_band - 1`` and in no band before ``first_band``.

    Only these bands' keys are held (8 bytes per band and row), read batch by batch from the
    signatures, one memory-mapped shard at a time; the earlier bands are compared on the
    candidate rows alone.
    """
    n = store.manifest(signatures_ref)["meta"]["num_rows"]
    keys, usable = np.empty((n, stop_band - first_band), dtype=np.uint64), np.empty(n, dtype=bool)  # filled in place
    done = 0
    for shard in store.read_shards(signatures_ref):
        for batch in shard.data.table.to_batches(max_chunksize=100_000):
            end = done + batch.num_rows
            keys[done:end], usable[done:end] = band_keys(table_to_signatures(batch), stop_band - first_band, rows,
                                                         first_band)
            done = end
        del shard
    pairs = pairs_from_band_keys(keys, usable)
    del keys
    if first_band and len(pairs):
        involved = np.unique(pairs)
        signatures = table_to_signatures(store.take(signatures_ref, involved))[:, :first_band * rows]
        a, b = (signatures[np.searchsorted(involved, pairs[:, side])] for side in (0, 1))
        earlier = (a == b).reshape(len(pairs), first_band, rows).all(axis=2).any(axis=1)
        pairs = pairs[~earlier]
    return pairs


def pairs_stage(
    store: Any, dataset_ref: Any, signatures_ref: Any, *, threshold: float = 0.8, bands: int | None = None,
    verify: str = "exact", bands_per_piece: int = 4, pieces: Sequence[int] | None = None,
    on_piece: Callable[[int], None] | None = None,
) -> Any:
    """The candidate pairs and their similarities, one committed shard per group of bands.

    With ``pieces``, compute only those pieces (if missing) and return None without committing
    (or the artifact, when already stored).
    ``bands_per_piece`` is a layout choice (recorded in the plan, not the key).
    """
    if verify not in VERIFY_MODES:
        raise ValueError(f"The 'verify' option of the near_duplicates stage must be one of {list(VERIFY_MODES)}. "
                         f"Got {verify!r} instead.")
    if not (isinstance(threshold, (int, float)) and 0 < threshold <= 1):
        raise ValueError(f"The 'threshold' option of the near_duplicates stage must be in (0, 1]. Got {threshold!r}.")
    if isinstance(bands_per_piece, bool) or not isinstance(bands_per_piece, int) or bands_per_piece < 1:
        raise ValueError(f"The 'bands_per_piece' option of the near_duplicates stage must be an int >= 1. "
                         f"Got {bands_per_piece!r} instead.")
    config = {"threshold": threshold, "bands": bands, "verify": verify}
    key = PAIRS.key(config, parents=[dataset_ref, signatures_ref])
    existing = PAIRS.lookup(store, key)
    if existing is not None:
        return existing
    band_count, rows = band_layout(schema_from_b64(store.manifest(signatures_ref)["schema"]["arrow_b64"]),
                                   threshold, bands)
    num_pieces = -(-band_count // bands_per_piece)
    with PAIRS.open_writer(store, key, config=config, parents=[dataset_ref, signatures_ref], num_shards=num_pieces,
                           schema=PAIRS_SCHEMA, plan={"bands_per_piece": bands_per_piece, "num_pieces": num_pieces},
                           meta={"bands": band_count, "rows_per_band": rows}) as writer:
        todo = [k for k in writer.missing_shards(num_pieces) if pieces is None or k in set(pieces)]
        for piece in todo:
            first = piece * bands_per_piece
            pairs = first_shared_in(store, signatures_ref, rows, first, min(band_count, first + bands_per_piece))
            similarity = _similarity(store, dataset_ref, signatures_ref, pairs, verify)
            writer.write_shard(piece, pa.table({"first": pairs[:, 0], "second": pairs[:, 1],
                                                "similarity": similarity}, schema=PAIRS_SCHEMA))
            logger.info("near_duplicate_pairs piece %d: %d candidates", piece, len(pairs))
            del pairs, similarity
            release_freed()  # what this piece's keys and shingles took, back before the next piece
            if on_piece is not None:
                on_piece(piece)
        if pieces is not None:
            return None
        return writer.commit(schema=PAIRS_SCHEMA)


def duplicates_table_stage(
    store: Any, dataset_ref: Any, signatures_ref: Any, *, threshold: float = 0.8, bands: int | None = None,
    verify: str = "exact", bands_per_piece: int = 4,
) -> Any:
    """The row-aligned ``near_duplicates`` artifact of the signatures ``signatures_ref``."""
    pairs_ref = pairs_stage(store, dataset_ref, signatures_ref, threshold=threshold, bands=bands, verify=verify,
                            bands_per_piece=bands_per_piece)
    config = {"threshold": threshold, "bands": bands, "verify": verify}

    def compute() -> StageOutput:
        n = store.manifest(signatures_ref)["meta"]["num_rows"]
        found = store.read_table(pairs_ref)
        similarity = found.column("similarity").to_numpy()
        pairs = np.stack([found.column("first").to_numpy(), found.column("second").to_numpy()], axis=1)
        pairs = pairs[similarity >= threshold]
        representative = components(n, pairs)
        duplicate = representative != np.arange(n)
        out = pa.table({"near_duplicate": duplicate.astype(np.float64),
                        "duplicate_of": np.where(duplicate, representative, -1)})
        meta = store.manifest(pairs_ref)["meta"]
        return StageOutput(out, meta={"candidates": int(found.num_rows), "verified_pairs": int(len(pairs)),
                                      "bands": meta["bands"], "rows_per_band": meta["rows_per_band"]})

    return run_cached(store, NEAR_DUPLICATES, config, compute, parents=[dataset_ref, signatures_ref])


def near_duplicates_stage(
    store: Any, dataset_ref: Any, signatures_ref: Any, *, threshold: float = 0.8, bands: int | None = None,
    verify: str = "exact", score_column: str = "near_duplicate", bands_per_piece: int = 4,
) -> Any:
    """Near-duplicate flags of the dataset as a scores artifact (one column ``score_column``)."""
    ref = duplicates_table_stage(store, dataset_ref, signatures_ref, threshold=threshold, bands=bands, verify=verify,
                                 bands_per_piece=bands_per_piece)
    return columns_stage(store, dataset_ref, ref, {"near_duplicate": score_column})
