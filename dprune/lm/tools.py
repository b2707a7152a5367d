"""Find or build the KenLM command-line tools (``lmplz``, ``build_binary``).

The ``kenlm`` Python package only *queries* models; training one needs the
C++ programs ``lmplz`` (estimate an ARPA model from text) and
``build_binary`` (turn it into the memory-mapped binary format). No binary
release exists, so dPrune builds them from the ``kenlm`` source distribution on
PyPI with one command, and caches them::

    python -m dprune.lm.tools build          # prints the apt-get line if a dependency is missing
    python -m dprune.lm.tools build --apt    # installs the missing Debian/Ubuntu packages first
    python -m dprune.lm.tools path           # where the tools are found (exit 1 if not)

Lookup order for a tool (:func:`find_tool`):

1. ``$DPRUNE_KENLM_BIN`` -- a directory holding the programs (an explicit
   setting: a tool missing there is an error, there is no fallback);
2. the cache, ``${DPRUNE_TOOLS_CACHE:-${XDG_CACHE_HOME:-~/.cache}/dprune}/kenlm/bin``,
   filled by ``build``;
3. ``PATH``.

The build needs cmake, a C++ compiler, make and four Boost libraries
(program_options, system, thread, unit_test_framework -- the last only because
KenLM's CMakeLists requires it even when tests are off). Boost is linked
statically, so the cached programs keep working if the Boost packages are
removed later. zlib/bzip2/xz headers are optional (they only let ``lmplz``
read compressed input; dPrune always feeds it plain text).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from dprune.core.cache import user_cache_dir
from dprune.core.fingerprint import local_file_sha256

__all__ = [
    "APT_PACKAGES",
    "KENLM_SDIST_SHA256",
    "KENLM_VERSION",
    "KenLMToolsError",
    "KenLMToolsNotFoundError",
    "TOOLS",
    "apt_install_command",
    "build_tools",
    "cache_dir",
    "find_tool",
    "find_tools",
    "missing_build_dependencies",
    "require_tool",
    "main",
]

#: The KenLM source release that is built (the same version as the ``kenlm`` Python package).
KENLM_VERSION = "0.3.0"
#: sha256 of ``kenlm-0.3.0.tar.gz`` as published on PyPI; a download that differs is rejected.
KENLM_SDIST_SHA256 = {"0.3.0": "c4628bb9fb63c8a6f9240035b8b037385cfc404cb72e933cf48878291edac1e8"}
#: Programs built and cached. ``query`` is a handy debugging tool and costs little.
TOOLS = ("lmplz", "build_binary", "query")
#: Tools the library needs.
REQUIRED_TOOLS = ("lmplz", "build_binary")

#: Debian/Ubuntu packages by build dependency.
APT_PACKAGES = {
    "cmake": "cmake",
    "c++ compiler": "g++",
    "make": "make",
    "boost program_options": "libboost-program-options-dev",
    "boost system": "libboost-system-dev",
    "boost thread": "libboost-thread-dev",
    "boost unit_test_framework": "libboost-test-dev",
}

_BOOST_COMPONENTS = {
    # dependency name: (header, library stem)
    "boost program_options": ("boost/program_options.hpp", "boost_program_options"),
    "boost system": ("boost/system/error_code.hpp", "boost_system"),
    "boost thread": ("boost/thread.hpp", "boost_thread"),
    "boost unit_test_framework": ("boost/test/unit_test.hpp", "boost_unit_test_framework"),
}

_ENV_BIN = "DPRUNE_KENLM_BIN"
_BUILD_INFO = "BUILD_INFO.json"
_BUILD_COMMAND = "python -m dprune.lm.tools build"


class KenLMToolsError(RuntimeError):
    """Building or running the KenLM command-line tools failed."""


class KenLMToolsNotFoundError(KenLMToolsError, FileNotFoundError):
    """A KenLM program (``lmplz``, ``build_binary``) is not installed where dPrune looks."""


# --------------------------------------------------------------------------- locations
def cache_dir() -> Path:
    """Root of dPrune's user cache (see :func:`dprune.core.cache.user_cache_dir`)."""
    return user_cache_dir()


def _kenlm_cache(root: str | os.PathLike | None = None) -> Path:
    return (Path(root).expanduser() if root is not None else cache_dir()) / "kenlm"


def cached_bin_dir(root: str | os.PathLike | None = None) -> Path:
    """Directory where :func:`build_tools` puts the programs."""
    return _kenlm_cache(root) / "bin"


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


@dataclass(frozen=True)
class _Lookup:
    path: Path | None
    searched: tuple[str, ...]


def _lookup(name: str, cache_root: str | os.PathLike | None = None) -> _Lookup:
    if name not in TOOLS:
        raise ValueError(f"Unknown KenLM tool {name!r}; dPrune knows {list(TOOLS)}.")
    searched: list[str] = []
    env_dir = os.environ.get(_ENV_BIN)
    if env_dir:
        candidate = Path(env_dir).expanduser() / name
        searched.append(f"${_ENV_BIN}={env_dir}")
        if _is_executable(candidate):
            return _Lookup(candidate, tuple(searched))
        # An explicit setting that is wrong must not silently fall back to another build.
        return _Lookup(None, tuple(searched))
    cached = cached_bin_dir(cache_root) / name
    searched.append(f"cache {cached.parent}")
    if _is_executable(cached):
        return _Lookup(cached, tuple(searched))
    on_path = shutil.which(name)
    searched.append("PATH")
    if on_path:
        return _Lookup(Path(on_path), tuple(searched))
    return _Lookup(None, tuple(searched))


def find_tool(name: str, *, cache_root: str | os.PathLike | None = None) -> Path | None:
    """Path of KenLM program ``name``, or ``None`` when it is not installed (see module docs for the order)."""
    return _lookup(name, cache_root).path


def find_tools(*, cache_root: str | os.PathLike | None = None) -> dict[str, Path | None]:
    """``{tool: path or None}`` for every program in :data:`TOOLS`."""
    return {name: find_tool(name, cache_root=cache_root) for name in TOOLS}


def require_tool(name: str, *, cache_root: str | os.PathLike | None = None) -> Path:
    """Path of KenLM program ``name``; raise :class:`KenLMToolsNotFoundError` with the fix when missing."""
    found = _lookup(name, cache_root)
    if found.path is not None:
        return found.path
    env_dir = os.environ.get(_ENV_BIN)
    if env_dir:
        raise KenLMToolsNotFoundError(
            f"KenLM program {name!r} was not found in ${_ENV_BIN}={env_dir} (no executable "
            f"{Path(env_dir) / name}). Point ${_ENV_BIN} at the directory holding lmplz and "
            f"build_binary, or unset it and build them with: {_BUILD_COMMAND}"
        )
    missing = missing_build_dependencies()
    hint = (
        f" Its build dependencies are missing; install them first with: {apt_install_command(missing)}"
        f" (or run: {_BUILD_COMMAND} --apt)."
        if missing
        else ""
    )
    raise KenLMToolsNotFoundError(
        f"KenLM program {name!r} is needed to train a reference language model but was not found "
        f"(searched: {', '.join(found.searched)}). Build and cache it with: {_BUILD_COMMAND}.{hint} "
        f"Or set ${_ENV_BIN} to a directory that holds lmplz and build_binary."
    )


# --------------------------------------------------------------------------- dependencies
def _environment_dirs(path_vars: Sequence[str], root_vars: Sequence[str], subdir: str) -> list[Path]:
    """The folders of the search-path variables ``path_vars``, then each root of ``root_vars`` and its ``subdir``."""
    dirs = []
    for var in path_vars:
        dirs += [Path(p) for p in os.environ.get(var, "").split(os.pathsep) if p]
    for var in root_vars:
        value = os.environ.get(var)
        if value:
            dirs += [Path(value), Path(value) / subdir]
    return dirs


def _include_dirs() -> list[Path]:
    dirs = _environment_dirs(("CPATH", "CPLUS_INCLUDE_PATH"), ("BOOST_ROOT", "BOOST_INCLUDEDIR", "CONDA_PREFIX"),
                             "include")
    dirs += [Path("/usr/local/include"), Path("/usr/include"), Path(sys.prefix) / "include"]
    return dirs


def _library_dirs() -> list[Path]:
    dirs = _environment_dirs(("LIBRARY_PATH", "LD_LIBRARY_PATH"), ("BOOST_ROOT", "BOOST_LIBRARYDIR", "CONDA_PREFIX"),
                             "lib")
    machine = platform.machine()
    multiarch = [f"/usr/lib/{machine}-linux-gnu", f"/lib/{machine}-linux-gnu"]
    dirs += [Path(p) for p in ["/usr/local/lib", *multiarch, "/usr/lib64", "/usr/lib", "/lib64", "/lib"]]
    dirs.append(Path(sys.prefix) / "lib")
    return dirs


def _has_header(header: str) -> bool:
    return any((d / header).is_file() for d in _include_dirs())


def _has_library(stem: str) -> bool:
    for d in _library_dirs():
        # The unversioned .so symlink or the static archive come from the -dev package.
        if (d / f"lib{stem}.so").exists() or (d / f"lib{stem}.a").exists() or (d / f"lib{stem}.dylib").exists():
            return True
    return False


def missing_build_dependencies() -> list[str]:
    """Names of build dependencies that are not installed (keys of :data:`APT_PACKAGES`)."""
    missing = []
    if shutil.which("cmake") is None:
        missing.append("cmake")
    if not any(shutil.which(cc) for cc in (os.environ.get("CXX", "") or "c++", "g++", "clang++")):
        missing.append("c++ compiler")
    if shutil.which("make") is None and shutil.which("ninja") is None:
        missing.append("make")
    for dep, (header, stem) in _BOOST_COMPONENTS.items():
        if not (_has_header(header) and _has_library(stem)):
            missing.append(dep)
    return missing


def apt_install_command(dependencies: Sequence[str] | None = None) -> str:
    """The exact ``apt-get`` line installing ``dependencies`` (default: every build dependency)."""
    deps = list(APT_PACKAGES) if dependencies is None else list(dependencies)
    packages = sorted({APT_PACKAGES[d] for d in deps})
    prefix = "" if _is_root() else "sudo "
    return f"{prefix}apt-get install -y --no-install-recommends {' '.join(packages)}"


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _install_with_apt(dependencies: Sequence[str], log) -> None:
    if shutil.which("apt-get") is None:
        raise KenLMToolsError(
            f"--apt was given but apt-get is not available on this system. Install the equivalents of "
            f"{sorted(APT_PACKAGES[d] for d in dependencies)} with your package manager, then rerun "
            f"{_BUILD_COMMAND}."
        )
    sudo = [] if _is_root() else ["sudo"]
    if sudo and shutil.which("sudo") is None:
        raise KenLMToolsError(
            f"Installing packages needs root. Run as root: {apt_install_command(dependencies)}"
        )
    packages = sorted({APT_PACKAGES[d] for d in dependencies})
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        [*sudo, "apt-get", "update"],
        [*sudo, "apt-get", "install", "-y", "--no-install-recommends", *packages],
    ):
        log(f"$ {' '.join(command)}")
        result = subprocess.run(command, env=env)
        if result.returncode != 0:
            raise KenLMToolsError(f"{' '.join(command)} failed with exit status {result.returncode}.")


# --------------------------------------------------------------------------- build
@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Exclusive advisory lock, so two processes never build into the cache at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - non-POSIX
            yield
            return
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _fetch_sdist(version: str, dest: Path, sdist: str | os.PathLike | None, log) -> Path:
    """Return a local path to ``kenlm-{version}.tar.gz``: the given file, the cached copy, or a pip download."""
    name = f"kenlm-{version}.tar.gz"
    if sdist is not None:
        path = Path(sdist).expanduser()
        if not path.is_file():
            raise KenLMToolsError(f"--sdist {path} does not exist or is not a file.")
        return path
    cached = dest / name
    if cached.is_file():
        return cached
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest, prefix=".download-") as tmp:
        # --no-binary kenlm (not :all:, which would compile cmake from source): only kenlm must
        # come as source; pip merely prepares its metadata. Without build isolation that needs
        # setuptools and wheel here; if they are missing, retry with isolation (wheels from PyPI).
        downloaded = Path(tmp) / name
        outputs = []
        for isolation in (["--no-build-isolation"], []):
            command = [
                sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "kenlm", *isolation,
                "--dest", tmp, f"kenlm=={version}",
            ]
            log(f"$ {' '.join(command)}")
            result = subprocess.run(command, capture_output=True, text=True)
            outputs.append((result.stdout + result.stderr).strip())
            if result.returncode == 0 and downloaded.is_file():
                break
        else:
            raise KenLMToolsError(
                f"Downloading the KenLM source ({name}) from PyPI with pip failed:\n{outputs[-1][-2000:]}\n"
                f"Without network access, download {name} elsewhere and pass it with "
                f"{_BUILD_COMMAND} --sdist PATH."
            )
        os.replace(downloaded, cached)
    return cached


def _verify_sdist(path: Path, version: str) -> str:
    digest = local_file_sha256(path)
    expected = KENLM_SDIST_SHA256.get(version)
    if expected is not None and digest != expected:
        raise KenLMToolsError(
            f"{path} has sha256 {digest}, but kenlm-{version}.tar.gz on PyPI has {expected}. "
            "The download is corrupt or not the published release; delete it and rerun the build."
        )
    return digest


def _run_logged(command: list[str], cwd: Path, log_path: Path, what: str, missing_hint: str) -> None:
    with open(log_path, "a") as log_file:
        log_file.write(f"\n$ {' '.join(command)}\n")
        log_file.flush()
        result = subprocess.run(command, cwd=cwd, stdout=log_file, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = log_path.read_text(errors="replace")[-3000:]
        raise KenLMToolsError(
            f"{what} failed (exit status {result.returncode}). Last lines of {log_path}:\n{tail}\n{missing_hint}"
        )


def _smoke_test(bin_dir: Path) -> None:
    """Train and binarize a 2-gram model on three lines: proves the programs really run."""
    with tempfile.TemporaryDirectory(prefix="dprune-kenlm-smoke-") as tmp:
        arpa = Path(tmp) / "smoke.arpa"
        binary = Path(tmp) / "smoke.bin"
        text = "the cat sat\nthe dog sat\na cat ran\n"
        lmplz = subprocess.run(
            [str(bin_dir / "lmplz"), "-o", "2", "-S", "32M", "--vocab_estimate", "1000", "-T", tmp,
             "--discount_fallback", "--arpa", str(arpa)],
            input=text.encode(), capture_output=True,
        )
        if lmplz.returncode != 0 or not arpa.is_file():
            raise KenLMToolsError(
                f"The freshly built lmplz does not work:\n{lmplz.stderr.decode(errors='replace')[-2000:]}"
            )
        build = subprocess.run([str(bin_dir / "build_binary"), str(arpa), str(binary)], capture_output=True)
        if build.returncode != 0 or not binary.is_file():
            raise KenLMToolsError(
                f"The freshly built build_binary does not work:\n{build.stderr.decode(errors='replace')[-2000:]}"
            )


def _tools_present(bin_dir: Path) -> bool:
    return all(_is_executable(bin_dir / name) for name in TOOLS)


def build_tools(
    *,
    cache_root: str | os.PathLike | None = None,
    version: str = KENLM_VERSION,
    sdist: str | os.PathLike | None = None,
    apt: bool = False,
    force: bool = False,
    jobs: int | None = None,
    max_order: int = 6,
    verbose: bool = True,
) -> dict[str, Path]:
    """Build ``lmplz``, ``build_binary`` and ``query`` from the KenLM sdist and cache them.

    Parameters
    ----------
    cache_root : path, optional
        Cache root (default :func:`cache_dir`); programs go to ``{cache_root}/kenlm/bin``.
    version : str
        KenLM release to build (the PyPI sdist ``kenlm=={version}``).
    sdist : path, optional
        A local ``kenlm-{version}.tar.gz`` to build from instead of downloading it.
    apt : bool
        Install missing build dependencies with ``apt-get`` (as root or through sudo).
        Without it, a missing dependency raises with the exact ``apt-get`` line.
    force : bool
        Rebuild even when the cache already holds working programs.
    jobs : int, optional
        Parallel compile jobs (default: the number of CPUs).
    max_order : int
        ``KENLM_MAX_ORDER`` compiled into the programs (the highest n-gram order they handle).
    verbose : bool
        Print progress to stderr.

    Returns
    -------
    dict
        ``{tool name: path}`` of the cached programs.
    """

    def log(message: str) -> None:
        if verbose:
            print(f"[dprune.lm.tools] {message}", file=sys.stderr, flush=True)

    root = _kenlm_cache(cache_root)
    bin_dir = root / "bin"
    with _file_lock(root / ".build.lock"):
        info_path = bin_dir / _BUILD_INFO
        if not force and _tools_present(bin_dir) and info_path.is_file():
            info = json.loads(info_path.read_text())
            if info.get("version") == version and info.get("max_order") == max_order:
                log(f"KenLM {version} tools already built in {bin_dir}; reusing them (--force rebuilds).")
                return {name: bin_dir / name for name in TOOLS}

        missing = missing_build_dependencies()
        if missing:
            if not apt:
                raise KenLMToolsError(
                    f"Cannot build the KenLM tools: missing {', '.join(missing)}. Install them with:\n"
                    f"    {apt_install_command(missing)}\n"
                    f"or let dPrune run apt-get for you: {_BUILD_COMMAND} --apt"
                )
            log(f"Installing missing build dependencies: {', '.join(missing)}")
            _install_with_apt(missing, log)
            still = missing_build_dependencies()
            if still:
                raise KenLMToolsError(
                    f"Still missing after apt-get: {', '.join(still)}. Install them manually: "
                    f"{apt_install_command(still)}"
                )

        archive = _fetch_sdist(version, root / "src", sdist, log)
        digest = _verify_sdist(archive, version)
        started = time.monotonic()
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=root, prefix=".build-") as tmp:
            work = Path(tmp)
            with tarfile.open(archive) as tar:
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(work, filter="data")
                else:  # pragma: no cover - Python < 3.11.4
                    tar.extractall(work)
            sources = [p for p in work.iterdir() if p.is_dir() and (p / "CMakeLists.txt").is_file()]
            if len(sources) != 1:
                raise KenLMToolsError(f"{archive} does not look like the KenLM source (no top-level CMakeLists.txt).")
            source = sources[0]
            build = work / "build"
            build.mkdir()
            log_path = root / "build.log"
            log_path.write_text(f"KenLM {version} build, {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
            hint = (
                f"If a library is missing, install the build dependencies with: {apt_install_command()} "
                f"(or run {_BUILD_COMMAND} --apt)."
            )
            log(f"Configuring KenLM {version} (log: {log_path})")
            _run_logged(
                [
                    "cmake", str(source), "-DCMAKE_BUILD_TYPE=Release", f"-DKENLM_MAX_ORDER={max_order}",
                    "-DBoost_USE_STATIC_LIBS=ON", "-DCOMPILE_TESTS=OFF", "-DENABLE_PYTHON=OFF",
                    "-DCMAKE_DISABLE_FIND_PACKAGE_Eigen3=ON",
                ],
                build, log_path, "cmake configure", hint,
            )
            n_jobs = jobs or os.cpu_count() or 1
            log(f"Compiling {', '.join(TOOLS)} with {n_jobs} job(s)")
            _run_logged(
                ["cmake", "--build", ".", "--target", *TOOLS, "--", f"-j{n_jobs}"],
                build, log_path, "KenLM compilation", hint,
            )
            built = build / "bin"
            for name in TOOLS:
                if not _is_executable(built / name):
                    raise KenLMToolsError(f"The build finished but {built / name} is missing; see {log_path}.")
            _smoke_test(built)
            # Install atomically, one program at a time: a reader sees the old or the new file.
            bin_dir.mkdir(parents=True, exist_ok=True)
            for name in TOOLS:
                staged = bin_dir / f".{name}.tmp"
                shutil.copy2(built / name, staged)
                os.replace(staged, bin_dir / name)
            info = {
                "version": version,
                "sdist_sha256": digest,
                "max_order": max_order,
                "tools": list(TOOLS),
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "build_seconds": round(time.monotonic() - started, 1),
                "platform": platform.platform(),
            }
            staged_info = bin_dir / f".{_BUILD_INFO}.tmp"
            staged_info.write_text(json.dumps(info, indent=2) + "\n")
            os.replace(staged_info, info_path)
        log(f"Built KenLM {version} tools in {info['build_seconds']} s into {bin_dir}")
        return {name: bin_dir / name for name in TOOLS}


def ensure_tools(**kwargs) -> dict[str, Path]:
    """Found programs, building them (without apt) only when one is missing from every location."""
    found = {name: find_tool(name, cache_root=kwargs.get("cache_root")) for name in REQUIRED_TOOLS}
    if all(found.values()):
        return found  # type: ignore[return-value]
    built = build_tools(**kwargs)
    return {name: built[name] for name in REQUIRED_TOOLS}


# --------------------------------------------------------------------------- CLI
def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (``python -m dprune.lm.tools``); returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m dprune.lm.tools",
        description="Build, cache and locate the KenLM programs lmplz and build_binary.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the tools from the kenlm sdist and cache them")
    build.add_argument("--apt", action="store_true", help="install missing build dependencies with apt-get")
    build.add_argument("--force", action="store_true", help="rebuild even if cached tools exist")
    build.add_argument("--cache-dir", default=None, help="cache root (default: $DPRUNE_TOOLS_CACHE or ~/.cache/dprune)")
    build.add_argument("--sdist", default=None, help="build from this local kenlm-<version>.tar.gz")
    build.add_argument("--version", default=KENLM_VERSION, help=f"KenLM version (default {KENLM_VERSION})")
    build.add_argument("--jobs", type=int, default=None, help="parallel compile jobs (default: CPU count)")
    build.add_argument("--quiet", action="store_true", help="print only the resulting paths")
    path = sub.add_parser("path", help="print where each tool is found; exit 1 if a required one is missing")
    path.add_argument("--cache-dir", default=None)
    sub.add_parser("deps", help="print missing build dependencies and the apt-get line installing them")
    args = parser.parse_args(argv)

    if args.command == "build":
        try:
            paths = build_tools(
                cache_root=args.cache_dir, version=args.version, sdist=args.sdist, apt=args.apt,
                force=args.force, jobs=args.jobs, verbose=not args.quiet,
            )
        except KenLMToolsError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        for name, tool_path in paths.items():
            print(f"{name}: {tool_path}")
        return 0
    if args.command == "path":
        status = 0
        for name in TOOLS:
            tool_path = find_tool(name, cache_root=args.cache_dir)
            print(f"{name}: {tool_path if tool_path else 'not found'}")
            if tool_path is None and name in REQUIRED_TOOLS:
                status = 1
        if status:
            print(f"Build the missing tools with: {_BUILD_COMMAND}", file=sys.stderr)
        return status
    missing = missing_build_dependencies()
    if not missing:
        print("All KenLM build dependencies are installed.")
        return 0
    print(f"Missing: {', '.join(missing)}")
    print(apt_install_command(missing))
    return 1


if __name__ == "__main__":
    sys.exit(main())
