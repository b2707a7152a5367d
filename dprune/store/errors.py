"""Errors raised by the artifact store."""

from __future__ import annotations

__all__ = [
    "ArtifactNotFoundError",
    "CorruptArtifactError",
    "IncompleteArtifactError",
    "NotAStoreError",
    "ReuseOnlyError",
    "SchemaMismatchError",
    "StoreError",
]


class StoreError(Exception):
    """Base class of artifact store errors."""


class ArtifactNotFoundError(StoreError, KeyError):
    """No valid artifact (no manifest) exists under the requested stage/key."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CorruptArtifactError(StoreError, RuntimeError):
    """An artifact's manifest or data does not match what was committed."""


class IncompleteArtifactError(StoreError, RuntimeError):
    """``commit`` was called before every shard was written."""


class ReuseOnlyError(StoreError, LookupError):
    """A stage needed an artifact that is not in the store, and the store only reuses (see ``reuse_only``)."""


class SchemaMismatchError(StoreError, ValueError):
    """Shards of one artifact do not share one schema."""


class NotAStoreError(StoreError, ValueError):
    """A folder given as a store root is not a dPrune store (no root marker), or does not exist."""
