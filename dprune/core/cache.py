"""dPrune's user cache folder: built tools and the content hashes of large local files."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV_CACHE", "user_cache_dir"]

#: Environment variable naming the cache root.
ENV_CACHE = "DPRUNE_TOOLS_CACHE"


def user_cache_dir() -> Path:
    """Root of dPrune's user cache: ``$DPRUNE_TOOLS_CACHE``, else ``$XDG_CACHE_HOME/dprune``, else ``~/.cache/dprune``."""
    explicit = os.environ.get(ENV_CACHE)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "dprune"
