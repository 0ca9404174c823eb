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
