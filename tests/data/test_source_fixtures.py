"""Sources load the same tensors as when the fixture was saved.

Issue 21 moves sources into modality folders; the rule is that every source loads
bit-identical tensors before and after. `fixtures/source_digests.json` holds, for each case
below, a SHA-256 of both splits' inputs (float32 bytes, NaN kept), labels and the spec, taken
from the code before a move. Regenerate only for an intended change of what a source reads:
    .venv/bin/python -m tests.data.test_source_fixtures
"""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from maskfuse.config import resolve
from maskfuse.data import load_data, resident
from tests.conftest import fsdd_root

FIXTURE = Path(__file__).parent / "fixtures" / "source_digests.json"


def digest(splits) -> str:
    splits = resident(splits, 10**9)
    h = hashlib.sha256()
    for ds in (splits.train, splits.test):
        h.update(np.ascontiguousarray(ds.inputs.numpy().astype(np.float32)).tobytes())
        if ds.labels is not None:
            h.update(ds.labels.to(torch.int64).numpy().tobytes())
    spec = splits.spec.to_dict()
    h.update(json.dumps(spec, sort_keys=True, default=str).encode())
    return h.hexdigest()


def jackson(tmp: Path, n: int = 8) -> list[Path]:
    """n real FSDD recordings copied under `tmp`, in class folders even / odd."""
    out = []
    for f in sorted((fsdd_root() / "recordings").glob("*_jackson_1*.wav"))[:n]:
        d = tmp / ("even" if int(f.name[0]) % 2 == 0 else "odd")
        d.mkdir(parents=True, exist_ok=True)
        out.append(Path(shutil.copy(f, d / f.name)))
    return out


def fsdd(tmp: Path) -> list[str]:
    return ["data.name=fsdd", f"data.path={fsdd_root()}", "data.max_train=60", "data.max_test=30"]


def fsdd_speaker(tmp: Path) -> list[str]:
    return [*fsdd(tmp), "data.test_regex=_theo_", "data.sample_rate=4000", "data.max_seconds=0.5"]


def audio_folder(tmp: Path) -> list[str]:
    jackson(tmp)
    return ["data.name=audio-folder", f"data.path={tmp}", "data.test_fraction=0.25"]


def audio_csv(tmp: Path) -> list[str]:
    files = jackson(tmp)
    lines = ["path,digit"] + [f"{f.relative_to(tmp)},{f.name[0]}" for f in files]
    (tmp / "m.csv").write_text("\n".join(lines) + "\n")
    return ["data.name=audio-csv", f"data.path={tmp / 'm.csv'}", "data.label_column=digit", "data.test_fraction=0.25"]


def digits(tmp: Path) -> list[str]:
    return ["data.name=digits"]


CASES = {"fsdd": fsdd, "fsdd-speaker": fsdd_speaker, "audio-folder": audio_folder, "audio-csv": audio_csv,
         "digits": digits}  # fmt: skip


def load(name: str, tmp: Path):
    return load_data(resolve(overrides=CASES[name](tmp)).data)


@pytest.mark.parametrize("name", CASES)
def test_a_source_loads_what_the_fixture_saved(name, tmp_path):
    saved = json.loads(FIXTURE.read_text())
    assert digest(load(name, tmp_path)) == saved[name]


if __name__ == "__main__":
    import tempfile

    found = {}
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            found[case] = digest(load(case, Path(tmp)))
    FIXTURE.write_text(json.dumps(found, indent=2) + "\n")
    print(f"written {FIXTURE}")
