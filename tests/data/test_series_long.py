"""Long-form series tables streamed in two passes, against a naive reference loop."""

import numpy as np
import pytest
import torch

from maskfuse.config import DataConfig
from maskfuse.data import columns, load_data
from maskfuse.data.arrays import ArrayRows, MappedArray
from maskfuse.data.columns import TableFile
from maskfuse.data.series_long import long_series
from maskfuse.errors import DataError
from tests.conftest import ucr_file


def reference(rows: list[tuple]) -> tuple[np.ndarray, list]:
    """Series [S, C, T] built row by row: ids in the order met, channels sorted, each series
    sorted by time, NaN-padded; the first label of each series."""
    ids = list(dict.fromkeys(r[0] for r in rows))
    chans = sorted({r[2] for r in rows}, key=str)
    points = {}
    for sid, t, ch, v, _ in rows:
        points.setdefault((ids.index(sid), chans.index(ch)), []).append((t, v))
    x = np.full((len(ids), len(chans), max(len(p) for p in points.values())), np.nan, np.float32)
    for (s, c), p in points.items():
        x[s, c, : len(p)] = [v for _, v in sorted(p)]
    labels = [next(r[4] for r in rows if r[0] == sid) for sid in ids]
    return x, labels


def gunpoint_rows(series: int = 24) -> list[tuple]:
    """Real GunPoint values as (id, time, axis, value, label) rows in a shuffled order: two
    channels (the series and its reverse), lengths 150 down to 105."""
    gun = np.loadtxt(ucr_file("GunPoint"))[:series]
    rows = []
    for i, r in enumerate(gun):
        n = 150 - (i % 10) * 5
        for axis, values in (("x", r[1 : 1 + n]), ("y", r[1 : 1 + n][::-1])):
            rows += [(f"s{i}", t * 0.5, axis, float(np.float32(values[t])), "gun" if r[0] == 1 else "point")
                     for t in range(n)]  # fmt: skip
    return [rows[k] for k in np.random.default_rng(0).permutation(len(rows))]


def write_csv(path, rows, header="id,time,axis,value,label"):
    path.write_text(header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


CFG = DataConfig(name="series-table", series_format="long", channel_column="axis")


@pytest.mark.parametrize("memory_mb", [1024, 0])
def test_two_passes_equal_the_reference_loop(tmp_path, monkeypatch, memory_mb):
    monkeypatch.setattr(columns, "CHUNK_CELLS", 64 * 5)  # chunks of 64 rows: many of them
    rows = gunpoint_rows()
    path = write_csv(tmp_path / "long.csv", rows)
    cfg = DataConfig(**{**CFG.__dict__, "memory_mb": memory_mb})
    x, labels, notes = long_series(TableFile(path), cfg, "label")
    want, want_labels = reference(rows)
    assert isinstance(x, MappedArray) == (memory_mb == 0) and len(notes) == (memory_mb == 0)
    np.testing.assert_array_equal(x[np.arange(len(x))], want)
    assert labels == want_labels


def test_held_and_by_row_loads_agree(tmp_path):
    path = write_csv(tmp_path / "long.csv", gunpoint_rows())
    held = load_data(DataConfig(**{**CFG.__dict__, "path": str(path)}))
    by_row = load_data(DataConfig(**{**CFG.__dict__, "path": str(path), "memory_mb": 0}))
    assert isinstance(by_row.train, ArrayRows) and isinstance(by_row.train.array, MappedArray)
    assert held.spec == by_row.spec and held.spec.shape == (2, 150) and held.spec.class_names == ("gun", "point")
    torch.testing.assert_close(by_row.train.decoded().inputs, held.train.inputs, equal_nan=True)
    assert torch.equal(by_row.test.labels, held.test.labels)


def test_bad_rows_are_named(tmp_path):
    rows = [("a", 0, "x", 1.0, "p"), ("b", 0, "x", 2.0, "q"), ("a", 1, "x", 3.0, "p"), ("b", 1, "x", 4.0, "q")]

    def load(bad, **extra):
        path = write_csv(tmp_path / "bad.csv", bad)
        return load_data(DataConfig(**{**CFG.__dict__, "path": str(path), **extra}))

    with pytest.raises(DataError, match=r"bad.csv, row 5: series 'b' has two labels, 'q' and 'p'"):
        load([*rows[:3], ("b", 1, "x", 4.0, "p")])
    with pytest.raises(DataError, match=r"bad.csv, row 4: missing time in 'time'"):
        load([*rows[:2], ("a", "", "x", 3.0, "p"), rows[3]])
    with pytest.raises(DataError, match=r"bad.csv, row 3, column 'value': expected a number, got 'oops'"):
        load([rows[0], ("b", 0, "x", "oops", "q"), *rows[2:]])
    with pytest.raises(DataError, match=r"bad.csv, row 6: series 'a' has two values at time 0.0"):
        load([*rows, ("a", 0, "x", 9.0, "p")])
    with pytest.raises(DataError, match=r"no column 'axes' \(channel\)"):
        load(rows, channel_column="axes")
