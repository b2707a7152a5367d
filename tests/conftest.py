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


import pytest  # noqa: E402


@pytest.fixture(scope="module")
def one_torch_thread():
    """Torch on one thread for a module: tiny models train fastest so, and do not fight other processes for cores.

    Use it with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# --------------------------------------------------------------------------- KenLM (issue 5)

_BUNDLED_TRAIN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                              "dprune", "examples", "rotten_tomatoes", "train.parquet")


@pytest.fixture(scope="session")
def kenlm_tools():
    """``{tool: path}`` of the real lmplz/build_binary.

    Found via $DPRUNE_KENLM_BIN, the user cache or PATH; built once into the user cache
    (``python -m dprune.lm.tools build``, about a minute) when missing. Tests skip with
    the reason only when the build is impossible (e.g. Boost headers not installed).
    """
    from dprune.lm.tools import KenLMToolsError, apt_install_command, ensure_tools, missing_build_dependencies

    try:
        return ensure_tools(verbose=True)
    except KenLMToolsError as error:
        missing = missing_build_dependencies()
        hint = f" Install: {apt_install_command(missing)}" if missing else ""
        pytest.skip(f"KenLM tools (lmplz, build_binary) are missing and could not be built: {error}{hint}")


@pytest.fixture(scope="session")
def tiny_kenlm_model(kenlm_tools, tmp_path_factory) -> str:
    """Path of an order-3 KenLM binary trained by real lmplz on the bundled Rotten Tomatoes train split."""
    from datasets import Dataset

    from dprune.lm.training import train_kenlm_model

    corpus = Dataset.from_parquet(_BUNDLED_TRAIN)
    path = tmp_path_factory.mktemp("kenlm") / "rotten_tomatoes-order3.bin"
    train_kenlm_model(corpus, path, order=3, memory="64M", vocab_estimate=50_000)
    return str(path)


@pytest.fixture(scope="session")
def tiny_arpa_model(tmp_path_factory) -> str:
    """A bigram ARPA model written by hand: the kenlm module loads it without lmplz, so the
    contract tests run where the KenLM tools cannot be built."""
    words = ["the", "a", "an", "film", "movie", "is", "was", "good", "bad", "not", "and", ",", ".", "!", "0"]
    lines = ["\\data\\", f"ngram 1={len(words) + 3}", "ngram 2=2", "", "\\1-grams:",
             "-2.0\t<unk>\t0", "-99\t<s>\t-0.3", "-1.0\t</s>\t0", *(f"-1.2\t{w}\t-0.2" for w in words),
             "", "\\2-grams:", "-0.5\t<s> the", "-0.4\tthe film", "", "\\end\\", ""]
    path = tmp_path_factory.mktemp("arpa") / "tiny.arpa"
    path.write_text("\n".join(lines))
    return str(path)
