#!/usr/bin/env bash
# The full test suite: sets up .venv, then runs pytest (extra arguments go to pytest).
source "$(dirname "$0")/_setup.sh"
exec .venv/bin/python -m pytest -q "$@"
