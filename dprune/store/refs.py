"""Artifact references and the names that become path components of the store."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["NAME_RE", "ArtifactRef", "check_name"]

#: A stage, key or file name: one path component, never hidden, never ``..``.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=+-]{0,199}$")


def check_name(what: str, value: Any) -> str:
    """Return ``value`` if it is a valid store name, else raise ``ValueError`` naming ``what``."""
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise ValueError(
            f"Invalid {what} {value!r}: it must be 1-200 characters from [A-Za-z0-9_.=+-], starting "
            "with a letter or digit (it becomes a path component of the store)."
        )
    return value


@dataclass(frozen=True)
class ArtifactRef:
    """Small, JSON-serializable pointer to an artifact: what Prefect tasks pass around.

    It never carries storage options (credentials); reopen the store with
    ``ArtifactStore(ref.root, storage_options)``.
    """

    root: str
    stage: str
    key: str

    @property
    def name(self) -> str:
        """``"stage/key"``."""
        return f"{self.stage}/{self.key}"

    def dprune_identity(self) -> dict[str, str]:
        """What identifies the artifact in cache keys: its stage and key, not where it is stored."""
        return {"artifact": self.name}

    def to_dict(self) -> dict[str, str]:
        """Return ``{"root": ..., "stage": ..., "key": ...}``."""
        return {"root": self.root, "stage": self.stage, "key": self.key}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ArtifactRef:
        """Inverse of :meth:`to_dict`; raises ``ValueError`` on missing or non-str fields."""
        try:
            values = {f: data[f] for f in ("root", "stage", "key")}
        except (KeyError, TypeError) as exc:
            raise ValueError(
                f"ArtifactRef.from_dict expects a mapping with 'root', 'stage' and 'key'; got {data!r}."
            ) from exc
        bad = [f for f, v in values.items() if not isinstance(v, str)]
        if bad:
            raise ValueError(f"ArtifactRef.from_dict: fields {bad} must be str; got {data!r}.")
        return cls(**values)
