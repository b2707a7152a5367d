"""Content-addressed Arrow artifact store over fsspec.

A store is a folder (local path or any fsspec URL) marked by ``.dprune-store.json``; each
artifact lives in ``{root}/{stage}/{key}/`` and exists only once its ``manifest.json`` is
written (last). The package is split along its seams:

* :mod:`~dprune.store.refs` and :mod:`~dprune.store.errors`: what callers hold and catch;
* :mod:`~dprune.store.layout`: the on-disk format (names, manifest, sidecars, marker);
* :mod:`~dprune.store.backends`: atomic writes on the local filesystem or any fsspec one;
* :mod:`~dprune.store.checksums`: sha256 proofs, at most one hash per file and process;
* :mod:`~dprune.store.artifacts`: :class:`ArtifactStore` (naming, reading, ``write_table``);
* :mod:`~dprune.store.writer`: :class:`ShardedWriter` (shards, files, commit);
* :mod:`~dprune.store.leases`: live writers' heartbeat files;
* :mod:`~dprune.store.maintenance`: ``ls``, ``verify`` and ``gc``.
"""

from dprune.store.artifacts import ArtifactStore, default_cache_dir
from dprune.store.errors import (
    ArtifactNotFoundError,
    CorruptArtifactError,
    IncompleteArtifactError,
    NotAStoreError,
    ReuseOnlyError,
    SchemaMismatchError,
    StoreError,
)
from dprune.store.layout import MANIFEST_NAME, MARKER_NAME
from dprune.store.refs import ArtifactRef
from dprune.store.writer import ShardedWriter

__all__ = [
    "MANIFEST_NAME",
    "MARKER_NAME",
    "ArtifactNotFoundError",
    "ArtifactRef",
    "ArtifactStore",
    "CorruptArtifactError",
    "IncompleteArtifactError",
    "NotAStoreError",
    "ReuseOnlyError",
    "SchemaMismatchError",
    "ShardedWriter",
    "StoreError",
    "default_cache_dir",
]
