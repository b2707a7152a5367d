"""Stage ``kenlm``: a KenLM reference model trained on the dataset or on a reference corpus.

The key hashes the corpus *content* and every setting that changes the model
(:func:`dprune.lm.training.kenlm_config`: order, pruning, normalizer, binary type,
KenLM version, and the sampling stride below). Artifact: the file ``model.bin`` and a table
of n-gram counts per order.

A model trained on the dataset itself grows with it: its n-grams, the memory of ``lmplz`` and
the binary that every perplexity shard maps all grow with the corpus. ``max_train_bytes``
bounds that: a dataset whose text is larger is sampled evenly, every ``stride``-th row
(``stride = ceil(text bytes / max_train_bytes)``), so the model's size stays about constant.
"""

from __future__ import annotations

import math
import os
import tempfile
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dprune.core.params import NONE, Interval, check_param
from dprune.data import load_dataset
from dprune.lm.training import corpus_fingerprint, dataset_corpus_fingerprint, kenlm_config, train_kenlm_model
from dprune.stages.embeddings import stored_text_fingerprint
from dprune.stages.runner import Stage, StageOutput, run_cached
from dprune.text.normalization import TextNormalizer

KENLM = Stage("kenlm", version=1)
MODEL_FILE = "model.bin"


def kenlm_stage(
    store: Any,
    dataset_ref: Any = None,
    *,
    corpus: Any = None,
    text_column: str = "text",
    reference: str | None = None,
    reference_text_column: str = "text",
    order: int = 5,
    prune: Sequence[int] | None = None,
    normalizer: Any = None,
    binary_type: str = "probing",
    discount_fallback: bool = False,
    memory: str = "1G",
    vocab_estimate: int | None = None,
    storage_options: Mapping[str, Any] | None = None,
    max_train_bytes: int | None = None,
) -> Any:
    """Train (or reuse) a KenLM model and return its artifact.

    The corpus is, in this order: ``corpus`` (a dataset, file, glob or URL), ``reference``
    (a corpus file, URL or dataset name, read with ``reference_text_column``), or the
    dataset artifact's ``text_column``. ``max_train_bytes`` (None: no bound) samples the
    dataset artifact's text evenly down to about that many bytes (a ``corpus`` or
    ``reference`` is read whole). Other parameters are those of
    :func:`dprune.lm.training.train_kenlm_model`.
    """
    check_param("kenlm_stage", "max_train_bytes", max_train_bytes, [NONE, Interval(int, 1, None)])
    parents: list[Any] = []
    if corpus is None and reference is not None:
        corpus, text_column = load_dataset(reference, text_column=reference_text_column, label_column=None), \
            reference_text_column
    config = kenlm_config(order=order, prune=prune, normalizer=normalizer, binary_type=binary_type,
                          discount_fallback=discount_fallback)
    stride = 1
    if corpus is None:  # the dataset artifact: hashed once per process, read shard by shard
        parents = [dataset_ref]
        fingerprint = dataset_corpus_fingerprint(stored_text_fingerprint(store, dataset_ref, text_column,
                                                                         rename=False))
        if max_train_bytes is not None:
            stride = max(1, math.ceil(stored_text_bytes(store, dataset_ref, text_column) / max_train_bytes))
        if stride > 1:  # a whole dataset keeps the key it had before sampling existed
            config["sample_every"] = stride
    else:
        fingerprint = corpus_fingerprint(corpus, text_column=text_column, storage_options=storage_options)

    def compute(workdir: str) -> StageOutput:
        path = os.path.join(workdir, MODEL_FILE)
        lm = train_kenlm_model(every_nth_row(store.read_shards(dataset_ref), stride) if corpus is None else corpus, path,
                               text_column=text_column, order=order, prune=prune, normalizer=normalizer,
                               binary_type=binary_type, discount_fallback=discount_fallback, memory=memory,
                               vocab_estimate=vocab_estimate, storage_options=storage_options, temp_dir=workdir,
                               fingerprint=fingerprint)
        orders = sorted(lm.ngram_counts)
        table = pa.table({"order": pa.array(orders, pa.int32()),
                          "ngrams": pa.array([lm.ngram_counts[k] for k in orders], pa.int64())})
        meta = {"ngram_counts": {str(k): v for k, v in lm.ngram_counts.items()}, "num_lines": lm.num_lines,
                "arpa_bytes": lm.arpa_bytes, "corpus_fingerprint": fingerprint}
        return StageOutput(table, files={MODEL_FILE: path}, meta=meta)

    with tempfile.TemporaryDirectory(prefix="dprune-kenlm-") as workdir:
        # the dataset artifact (when it is the corpus) is recorded as a parent for lineage; the key
        # hashes the corpus content either way
        return run_cached(store, KENLM, config, lambda: compute(workdir), inputs=(fingerprint,), parents=parents,
                          key=KENLM.key(config, inputs=(fingerprint,)))


def stored_text_bytes(store: Any, dataset_ref: Any, text_column: str) -> int:
    """Bytes of text in a stored dataset's ``text_column`` (from the string offsets, shard by shard)."""
    total = 0
    for shard in store.read_shards(dataset_ref):
        lengths = pc.binary_length(shard.data.table.column(text_column))
        total += pc.sum(lengths).as_py() or 0
    return total


def every_nth_row(shards: Iterator[Any], stride: int) -> Iterator[Any]:
    """Rows ``0, stride, 2 * stride, ...`` of the dataset whose shards these are, shard by shard."""
    start = 0
    for shard in shards:
        yield shard if stride == 1 else shard.select(np.arange((-start) % stride, len(shard), stride))
        start += len(shard)


def lm_normalizer(store: Any, lm_ref: Any) -> TextNormalizer | None:
    """The normalizer a kenlm artifact was trained with, read from its manifest (None for a function)."""
    config = store.manifest(lm_ref)["config"].get("normalizer") or {}
    return TextNormalizer.from_config(config) if config.get("type") == "TextNormalizer" else None


def model_path(store: Any, lm_ref: Any) -> str:
    """A local path of the KenLM binary of a kenlm artifact (a cached copy for a remote store)."""
    return store.local_file(lm_ref, MODEL_FILE)
