"""Stage ``near_duplicates``: LSH over the stored signatures, verified pairs, one row kept per component.

Reads the ``minhash`` artifact batch by batch (memory-mapped) into LSH band keys
(8 bytes per band and row), finds candidate pairs, verifies them (exact shingle Jaccard
re-computed from the texts of the candidate rows only, or the MinHash estimate) and joins
the verified pairs into connected components (:mod:`dprune.corpus.minhash`). The key is
the signatures' key plus ``threshold``, ``bands`` and ``verify``; a stored result is
reused, so a rerun with other settings recomputes only this stage.

Artifact, row-aligned: ``near_duplicate`` (1.0 for a later member of a component, else
0.0) and ``duplicate_of`` (the component's earliest row, ``-1`` for a kept row); ``meta``
counts candidates and verified pairs. :func:`near_duplicates_stage` returns it as a
scores artifact.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

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

NEAR_DUPLICATES = Stage("near_duplicates", version=1)
VERIFY_MODES = ("exact", "estimate")


def _similarity(store: Any, dataset_ref: Any, signatures_ref: Any, table: pa.Table, pairs: np.ndarray,
                verify: str) -> np.ndarray:
    involved = np.unique(pairs)  # only the rows of candidate pairs are read again
    if verify == "estimate":
        signatures = table_to_signatures(table.take(pa.array(involved, type=pa.int64())))
        return signature_similarity(signatures, np.searchsorted(involved, pairs))
    manifest = store.manifest(signatures_ref)
    config, text_column = manifest["config"], manifest["meta"]["text_column"]
    texts = store.read_table(dataset_ref).column(text_column).take(pa.array(involved, type=pa.int64()))
    return pair_jaccard(pairs, involved, texts, unit=config["unit"], ngram=config["ngram"],
                        normalizer=_normalizer(config["normalizer"]))


def _normalizer(config: dict) -> Any:
    from dprune.text.normalization import TextNormalizer

    if config.get("type") != "TextNormalizer":
        raise ValueError(
            "Exact verification re-shingles the texts and needs the signatures' normalizer, but they were made with "
            f"{config!r}, which cannot be rebuilt. Use verify='estimate' or a TextNormalizer / preset."
        )
    return TextNormalizer.from_config(config)


def duplicates_table_stage(
    store: Any, dataset_ref: Any, signatures_ref: Any, *, threshold: float = 0.8, bands: int | None = None,
    verify: str = "exact",
) -> Any:
    """The row-aligned ``near_duplicates`` artifact of the signatures ``signatures_ref``."""
    if verify not in VERIFY_MODES:
        raise ValueError(f"The 'verify' option of the near_duplicates stage must be one of {list(VERIFY_MODES)}. "
                         f"Got {verify!r} instead.")
    if not (isinstance(threshold, (int, float)) and 0 < threshold <= 1):
        raise ValueError(f"The 'threshold' option of the near_duplicates stage must be in (0, 1]. Got {threshold!r}.")
    config = {"threshold": threshold, "bands": bands, "verify": verify}

    def compute() -> StageOutput:
        table = store.read_table(signatures_ref)
        num_perm = table.schema.field("signature").type.list_size
        band_count, rows = lsh_parameters(num_perm, threshold) if bands is None else (bands, num_perm // bands)
        keys, usable = [], []
        for batch in table.to_batches(max_chunksize=100_000):
            batch_keys, batch_usable = band_keys(table_to_signatures(batch), band_count, rows)
            keys.append(batch_keys)
            usable.append(batch_usable)
        n = table.num_rows
        keys = np.concatenate(keys) if keys else np.zeros((0, band_count), dtype=np.uint64)
        usable = np.concatenate(usable) if usable else np.zeros(0, dtype=bool)
        candidates = pairs_from_band_keys(keys, usable)
        del keys
        similarity = _similarity(store, dataset_ref, signatures_ref, table, candidates, verify)
        pairs = candidates[similarity >= threshold]
        representative = components(n, pairs)
        duplicate = representative != np.arange(n)
        out = pa.table({"near_duplicate": duplicate.astype(np.float64),
                        "duplicate_of": np.where(duplicate, representative, -1)})
        return StageOutput(out, meta={"candidates": int(len(candidates)), "verified_pairs": int(len(pairs)),
                                      "bands": band_count, "rows_per_band": rows})

    return run_cached(store, NEAR_DUPLICATES, config, compute, parents=[dataset_ref, signatures_ref])


def near_duplicates_stage(
    store: Any, dataset_ref: Any, signatures_ref: Any, *, threshold: float = 0.8, bands: int | None = None,
    verify: str = "exact", score_column: str = "near_duplicate",
) -> Any:
    """Near-duplicate flags of the dataset as a scores artifact (one column ``score_column``)."""
    ref = duplicates_table_stage(store, dataset_ref, signatures_ref, threshold=threshold, bands=bands, verify=verify)
    return columns_stage(store, dataset_ref, ref, {"near_duplicate": score_column})
