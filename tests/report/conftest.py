"""Fixtures of the report tests."""

from __future__ import annotations

import pytest

from report_tables import make_table


@pytest.fixture
def table_with_audio(tmp_path):
    return make_table(60, audio_dir=tmp_path / "clips")
