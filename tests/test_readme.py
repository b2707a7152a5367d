"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_python_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(index, capsys):
    namespace: dict = {"__name__": f"readme_block_{index}"}
    source = BLOCKS[index]
    if "register_scorer(" in source:  # do not leave example components in the shared registry
        source = source.replace("@register_scorer(\"text_length\")\n", "")
    exec(compile(source, f"README.md block {index}", "exec"), namespace)
    if "pruned_dataset" in namespace:
        printed = capsys.readouterr().out
        assert "Original dataset size: 4" in printed and "Pruned dataset size: 2" in printed
