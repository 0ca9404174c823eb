"""The house rules that a tool can check: ruff clean, files under the size limit."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(Path(__import__("sys").executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff not installed (pip install -e '.[dev]')")
    checked = ["src", "tests", "benchmarks", "examples"]
    result = subprocess.run([ruff, "check", *checked], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_source_files_stay_small():
    big = [(p.relative_to(ROOT), n) for p in ROOT.glob("src/**/*.py") if (n := len(p.read_text().splitlines())) > 300]
    assert not big, f"split these by concept: {big}"
