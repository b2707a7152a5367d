"""Shared test setup: an isolated environment and fixtures used across the suite."""

from __future__ import annotations

import os
import tempfile

_SANDBOX = tempfile.mkdtemp(prefix="dprune-tests-")
# Isolate Prefect and Hugging Face from the developer's own settings and results, before they are imported.
os.environ["PREFECT_HOME"] = os.path.join(_SANDBOX, "prefect-home")
os.environ["PREFECT_LOCAL_STORAGE_PATH"] = os.path.join(_SANDBOX, "prefect-results")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["HF_DATASETS_CACHE"] = os.path.join(_SANDBOX, "hf-datasets")
