"""Fuzzing the readers a user's files go through: whatever the bytes, the answer is the
data or a DataError that names the file, never another exception.

hypothesis drives each reader with generated files: CSV text from an alphabet rich in
delimiters, quotes, numbers, blanks and non-ASCII; manifests whose cells are paths,
text, numbers or junk; and .npz archives mutated byte by byte from a valid one. Each
test is bounded (max_examples, no deadline) so the whole file runs in seconds."""

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from maskfuse.config import resolve
from maskfuse.data import data_overrides, load_data
from maskfuse.errors import DataError

BOUNDED = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
CELL = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "NA", "nan", "inf", '"', '""', "a,b", '"x,y"', "\u00e9t\u00e9", "\ufeff", "1e400"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6),
)


def read(path: Path, *overrides: str):
    """Load `path` as the user would; a DataError must name the file it is about."""
    cfg = resolve(data_settings=data_overrides(str(path)), overrides=list(overrides)).data
    try:
        return load_data(cfg)
    except DataError as err:
        assert path.name in str(err) or "data." in str(err), f"the error does not name {path.name}: {err}"
        return None


@BOUNDED
@given(
    header=st.lists(st.sampled_from(["a", "b", "label", "a", "", "c d", "\u00e9"]), min_size=1, max_size=4),
    rows=st.lists(st.lists(CELL, min_size=0, max_size=5), min_size=0, max_size=30),
    newline=st.sampled_from(["\n", "\r\n"]),
)
@example(header=["a", "b"], rows=[["0", "0"]], newline="\n")  # found: one row, "need at least 2" named no file
def test_a_table_csv_loads_or_names_itself(tmp_path, header, rows, newline):
    path = tmp_path / "fuzz.csv"
    path.write_text(newline.join([",".join(header)] + [",".join(r) for r in rows]) + newline, encoding="utf-8")
    splits = read(path, "data.name=table", "data.label_column=null", "data.memory_mb=64")
    if splits is not None:
        assert len(splits.train) + len(splits.test) <= len(rows)
        assert splits.train.batch(np.arange(len(splits.train))).get("table") is not None


@BOUNDED
@given(data=st.binary(max_size=300))
def test_raw_bytes_as_a_csv_load_or_name_the_file(tmp_path, data):
    path = tmp_path / "bytes.csv"
    path.write_bytes(data)
    read(path, "data.name=table", "data.label_column=null")


def npz_bytes() -> bytes:
    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    np.savez(buffer, images=rng.integers(0, 255, (12, 8, 8), dtype=np.uint8), labels=np.arange(12) % 3)
    return buffer.getvalue()


VALID_NPZ = npz_bytes()


@BOUNDED
@given(
    edits=st.lists(st.tuples(st.integers(0, len(VALID_NPZ) - 1), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.one_of(st.none(), st.integers(0, len(VALID_NPZ))),
)
@example(edits=[(117, 123)], cut=None)  # found: a '{' inside the header's dict was a bare SyntaxError from numpy
def test_a_mutated_npz_loads_or_names_the_file(tmp_path, edits, cut):
    data = bytearray(VALID_NPZ)
    for at, value in edits:
        data[at] = value
    path = tmp_path / "mutated.npz"
    path.write_bytes(bytes(data[:cut]) if cut is not None else bytes(data))
    splits = read(path)
    if splits is not None:  # the edits missed everything that matters: the images are intact
        images = splits.train.batch(np.arange(len(splits.train)))["image"]
        assert images.shape[1:] == (1, 8, 8) and np.isfinite(images.numpy()).all()


@BOUNDED
@given(members=st.lists(st.sampled_from(["images.npy", "labels.npy", "x.npy", "../up.npy"]), max_size=3))
def test_an_npz_of_odd_members_names_the_file(tmp_path, members):
    path = tmp_path / "odd.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for name in members:
            archive.writestr(name, b"\x93NUMPY junk")
    assert read(path) is None


@BOUNDED
@given(cells=st.lists(st.one_of(CELL, st.sampled_from(["img.png", "../img.png", "/etc/passwd", "missing.png"])),
                      min_size=2, max_size=12))  # fmt: skip
def test_a_manifest_loads_or_names_its_row(tmp_path, cells):
    from PIL import Image

    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "img.png")
    lines = ["photo,caption"] + [f'"{c.replace(chr(34), "")}",words {i}' for i, c in enumerate(cells)]
    path = tmp_path / "pairs.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    read(path, "data.name=manifest", "data.modalities=[photo:image,caption:text]", "data.label_column=null")


@pytest.mark.parametrize("name", ["table", "npz", "manifest", "text", "series-table", "audio-csv", "image-folder"])
def test_every_file_source_names_a_path_that_is_not_there(tmp_path, name):
    missing = tmp_path / "not-there.csv"
    cfg = resolve(overrides=[f"data.name={name}", f"data.path={missing}"]).data
    with pytest.raises(DataError, match="not-there.csv"):
        load_data(cfg)
