#!/usr/bin/env bash
# Set up everything dPrune needs, once, in ./.venv (re-running it is cheap):
#   the CPU build of PyTorch, the project with its test and dask extras, and the
#   KenLM command-line tools (lmplz, build_binary) built into the user cache, and espeak-ng
#   (Debian) which rebuilds the bundled speech example.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${DPRUNE_VENV:-.venv}

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# The CPU build first: a bare `torch` requirement would pull a multi-GB CUDA build.
"$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
"$VENV/bin/python" -m pip install --quiet -e ".[test,dask,audio]"
# Real KenLM tools from the kenlm sdist; installs Debian's build packages when run as root.
"$VENV/bin/python" -m dprune.lm.tools build --apt
# espeak-ng synthesizes the bundled speech example (scripts/build_speech_example.py, tests/test_speech_example.py).
if ! command -v espeak-ng >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y --no-install-recommends espeak-ng
  else
    echo "espeak-ng is missing; to rebuild the speech example run as root: apt-get install -y --no-install-recommends espeak-ng"
  fi
fi
