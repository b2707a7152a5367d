"""Finding, building and reporting the KenLM command-line tools."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from dprune.lm import tools
from dprune.lm.tools import (
    APT_PACKAGES,
    KenLMToolsError,
    KenLMToolsNotFoundError,
    apt_install_command,
    build_tools,
    cached_bin_dir,
    find_tool,
    require_tool,
)


def _fake_tool(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No $DPRUNE_KENLM_BIN, an empty cache and a PATH without KenLM programs."""
    monkeypatch.delenv("DPRUNE_KENLM_BIN", raising=False)
    monkeypatch.setenv("DPRUNE_TOOLS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    return tmp_path


def test_cache_dir_honours_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DPRUNE_TOOLS_CACHE", str(tmp_path / "c"))
    assert tools.cache_dir() == tmp_path / "c"
    assert cached_bin_dir() == tmp_path / "c" / "kenlm" / "bin"
    monkeypatch.delenv("DPRUNE_TOOLS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert tools.cache_dir() == tmp_path / "xdg" / "dprune"


def test_lookup_order_env_then_cache_then_path(isolated, monkeypatch):
    on_path = _fake_tool(isolated / "empty-path", "lmplz")
    assert find_tool("lmplz") == on_path
    cached = _fake_tool(cached_bin_dir(), "lmplz")
    assert find_tool("lmplz") == cached
    explicit = _fake_tool(isolated / "explicit", "lmplz")
    monkeypatch.setenv("DPRUNE_KENLM_BIN", str(isolated / "explicit"))
    assert find_tool("lmplz") == explicit
    with pytest.raises(ValueError, match="Unknown KenLM tool"):
        find_tool("kenlm_magic")


def test_explicit_bin_dir_without_the_tool_is_an_error(isolated, monkeypatch):
    _fake_tool(cached_bin_dir(), "build_binary")  # present elsewhere, but the explicit setting wins
    monkeypatch.setenv("DPRUNE_KENLM_BIN", str(isolated / "nowhere"))
    with pytest.raises(KenLMToolsNotFoundError, match=r"\$DPRUNE_KENLM_BIN=.*nowhere") as info:
        require_tool("build_binary")
    assert isinstance(info.value, FileNotFoundError)


def test_missing_tool_error_gives_the_build_command(isolated):
    with pytest.raises(KenLMToolsNotFoundError) as info:
        require_tool("lmplz")
    message = str(info.value)
    assert "python -m dprune.lm.tools build" in message
    assert "DPRUNE_KENLM_BIN" in message and "PATH" in message


def test_apt_line_lists_the_packages():
    line = apt_install_command(["boost thread", "cmake"])
    assert line.endswith("apt-get install -y --no-install-recommends cmake libboost-thread-dev")
    full = apt_install_command()
    for package in APT_PACKAGES.values():
        assert package in full


def test_build_without_apt_prints_the_exact_apt_line(isolated, monkeypatch):
    monkeypatch.setattr(tools, "_has_header", lambda header: "thread" not in header)
    with pytest.raises(KenLMToolsError) as info:
        build_tools(cache_root=isolated / "cache", verbose=False)
    message = str(info.value)
    assert "boost thread" in message and "boost system" not in message
    # PATH is emptied by the fixture, so cmake, g++ and make are reported missing too.
    assert "apt-get install -y --no-install-recommends cmake g++ libboost-thread-dev make" in message
    assert "--apt" in message
    assert not (isolated / "cache" / "kenlm" / "bin").exists()


def test_cli_reports_missing_dependencies(isolated, monkeypatch, capsys):
    monkeypatch.setattr(tools, "_has_header", lambda header: False)
    assert tools.main(["deps"]) == 1
    out = capsys.readouterr().out
    assert "libboost-program-options-dev" in out and "apt-get install" in out
    assert tools.main(["build", "--cache-dir", str(isolated / "c2"), "--quiet"]) == 1
    assert "apt-get install" in capsys.readouterr().err
    assert tools.main(["path"]) == 1


# ---------------------------------------------------------------- the real programs
def test_real_tools_are_found_and_run(kenlm_tools, tmp_path):
    for name in ("lmplz", "build_binary"):
        path = Path(kenlm_tools[name])
        assert path.is_file() and os.access(path, os.X_OK)
    arpa = tmp_path / "tiny.arpa"
    result = subprocess.run(
        [str(kenlm_tools["lmplz"]), "-o", "2", "-S", "16M", "--vocab_estimate", "100", "--discount_fallback",
         "-T", str(tmp_path), "--arpa", str(arpa)],
        input=b"a b c\na b d\nb c d\n", capture_output=True,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert arpa.read_text().lstrip().startswith("\\data\\")


def test_build_command_reuses_the_cache(kenlm_tools):
    """The documented command: with the tools cached it only reports them (no rebuild)."""
    if os.environ.get("DPRUNE_KENLM_BIN"):
        pytest.skip("tools come from $DPRUNE_KENLM_BIN, not from the cache")
    bin_dir = cached_bin_dir()
    if not (bin_dir / "BUILD_INFO.json").is_file():
        pytest.skip(f"tools found outside the dPrune cache ({kenlm_tools['lmplz']})")
    before = (bin_dir / "lmplz").stat().st_mtime_ns
    result = subprocess.run([sys.executable, "-m", "dprune.lm.tools", "build"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "reusing them" in result.stderr
    assert f"lmplz: {bin_dir / 'lmplz'}" in result.stdout
    assert (bin_dir / "lmplz").stat().st_mtime_ns == before
    info = json.loads((bin_dir / "BUILD_INFO.json").read_text())
    assert info["version"] == tools.KENLM_VERSION
    assert info["sdist_sha256"] == tools.KENLM_SDIST_SHA256[tools.KENLM_VERSION]
    path = subprocess.run([sys.executable, "-m", "dprune.lm.tools", "path"], capture_output=True, text=True)
    assert path.returncode == 0 and "build_binary: " in path.stdout
