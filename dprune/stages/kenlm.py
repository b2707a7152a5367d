"""Stage ``kenlm``: a KenLM reference model trained on the dataset or on a reference corpus.

The key hashes the corpus *content* and every setting that changes the model
(:func:`dprune.lm.training.kenlm_config`: order, pruning, normalizer, binary type,
KenLM version). Artifact: the file ``model.bin`` and a table of n-gram counts per order.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Mapping, Sequence

import pyarrow as pa

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
) -> Any:
    """Train (or reuse) a KenLM model and return its artifact.

    The corpus is, in this order: ``corpus`` (a dataset, file, glob or URL), ``reference``
    (a corpus file, URL or dataset name, read with ``reference_text_column``), or the
    dataset artifact's ``text_column``. Other parameters are those of
    :func:`dprune.lm.training.train_kenlm_model`.
    """
    parents: list[Any] = []
    if corpus is None and reference is not None:
        corpus, text_column = load_dataset(reference, text_column=reference_text_column, label_column=None), \
            reference_text_column
    config = kenlm_config(order=order, prune=prune, normalizer=normalizer, binary_type=binary_type,
                          discount_fallback=discount_fallback)
    if corpus is None:  # the dataset artifact: hashed once per process, read shard by shard
        parents = [dataset_ref]
        fingerprint = dataset_corpus_fingerprint(stored_text_fingerprint(store, dataset_ref, text_column,
                                                                         rename=False))
    else:
        fingerprint = corpus_fingerprint(corpus, text_column=text_column, storage_options=storage_options)

    def compute(workdir: str) -> StageOutput:
        path = os.path.join(workdir, MODEL_FILE)
        lm = train_kenlm_model(store.read_shards(dataset_ref) if corpus is None else corpus, path,
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


def lm_normalizer(store: Any, lm_ref: Any) -> TextNormalizer | None:
    """The normalizer a kenlm artifact was trained with, read from its manifest (None for a function)."""
    config = store.manifest(lm_ref)["config"].get("normalizer") or {}
    return TextNormalizer.from_config(config) if config.get("type") == "TextNormalizer" else None


def model_path(store: Any, lm_ref: Any) -> str:
    """A local path of the KenLM binary of a kenlm artifact (a cached copy for a remote store)."""
    return store.local_file(lm_ref, MODEL_FILE)
