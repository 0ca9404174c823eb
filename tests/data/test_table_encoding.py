import csv
import pickle
import re

import numpy as np
import pytest

from maskfuse.config import DataConfig
from maskfuse.data import columns
from maskfuse.data.arrays import MappedArray, RowSink
from maskfuse.data.base import split_indices
from maskfuse.data.columns import TableFile
from maskfuse.data.table_encoding import encode_table, robust_scaling, training_categories
from maskfuse.data.tabular import table_splits
from maskfuse.errors import DataError


def mixed_csv(path, rows=10_000, late_at=6_000):
    """A table whose 'code' column holds numbers until row `late_at`, then names (so it is
    found categorical past the first chunk); 'odd' has an 'inf' cell in its first chunk
    and a name near the end; 'v' is numeric with gaps; 'colour' is categorical throughout."""
    rng = np.random.default_rng(3)
    lines = ["code,odd,v,colour,label"]
    for i in range(rows):
        code = str(rng.integers(0, 20)) if i < late_at else f"x{rng.integers(0, 5)}"
        odd = "inf" if i == 7 else "" if i % 11 == 0 else str(rng.integers(0, 3)) if i < rows - 500 else "big"
        v = "" if i % 13 == 0 else f"{rng.normal():.3f}"
        lines.append(f"{code},{odd},{v},{rng.choice(['red', 'green', 'blue'])},{i % 3}")
    path.write_text("\n".join(lines) + "\n")


def naive_encoding(path, train_rows):
    """The encoding, cell by cell: a column is numeric when every present cell is a float,
    categories are the sorted cells of the training rows."""
    with open(path, newline="") as f:
        header, *body = list(csv.reader(f))
    features = [n for n in header if n != "label"]
    x = np.full((len(body), len(features)), np.nan, np.float32)
    kinds, categories = [], {}
    for j, name in enumerate(features):
        cells = [row[header.index(name)] or None for row in body]
        try:
            values = [np.nan if c is None else float(c) for c in cells]
            kinds.append("numeric")
            x[:, j] = values
        except ValueError:
            kinds.append("categorical")
            categories[name] = sorted({cells[i] for i in train_rows if cells[i] is not None})
            for i, cell in enumerate(cells):
                if cell is not None:
                    x[i, j] = categories[name].index(cell)
    return x, kinds, categories


@pytest.mark.parametrize("reader", ["pyarrow", "python"])
def test_one_pass_matches_a_cell_by_cell_encoding(tmp_path, monkeypatch, reader):
    monkeypatch.setattr(columns, "CHUNK_CELLS", 5 * 4096)  # 4,096 rows a chunk: 'code' turns categorical late
    monkeypatch.setattr(columns, "ARROW_BLOCK", 64_000)
    if reader == "python":
        python_reader(monkeypatch)
    mixed_csv(tmp_path / "mixed.csv")
    s = table_splits(TableFile(tmp_path / "mixed.csv"), DataConfig(label_column="label"), "mixed")
    y = np.arange(10_000) % 3
    tr, te = split_indices(10_000, y, 0.2, 0)
    rng = np.random.default_rng(0)
    tr, te = rng.permutation(tr), rng.permutation(te)
    x, kinds, categories = naive_encoding(tmp_path / "mixed.csv", tr)
    enc = s.spec.meta["encoding"]
    assert kinds == enc["kinds"] == ["categorical", "categorical", "numeric", "categorical"]
    assert enc["categories"] == categories and "inf" in categories["odd"] and "x4" in categories["code"]
    np.testing.assert_array_equal(s.train.inputs.numpy(), x[tr])
    np.testing.assert_array_equal(s.test.inputs.numpy(), x[te])
    assert s.train.labels.tolist() == y[tr].tolist()
    v = x[tr, 2]
    assert s.spec.meta["center"][2] == pytest.approx(float(np.median(v[~np.isnan(v)])))


def test_rows_spill_to_a_file_once_they_outgrow_memory():
    blocks = [np.full((100, 8), k, np.float32) for k in range(5)]
    held = RowSink(8, memory_mb=5 * 100 * 8 * 4 / 2**20)  # exactly fits
    spilled = RowSink(8, memory_mb=250 * 8 * 4 / 2**20)  # spills at the third block
    for block in blocks:
        held.add(block)
        spilled.add(block)
    (a, none), (b, mapped) = held.finish(), spilled.finish()
    assert none is None and isinstance(mapped, MappedArray) and mapped.path.stat().st_size == 500 * 8 * 4
    np.testing.assert_array_equal(a, np.concatenate(blocks))
    np.testing.assert_array_equal(b, a)
    np.testing.assert_array_equal(mapped[[450, 3]], a[[450, 3]])
    assert len(pickle.dumps(mapped)) < 1000


def python_reader(monkeypatch):
    """Read CSV with Python's csv module only, as without pyarrow."""
    monkeypatch.setattr(TableFile, "_arrow_chunks", lambda self: iter(()))


@pytest.mark.parametrize("reader", ["pyarrow", "python"])
def test_columns_found_categorical_late_are_read_again(tmp_path, monkeypatch, reader):
    monkeypatch.setattr(columns, "CHUNK_CELLS", 5 * 1000)  # the Python reader: 1,000 rows a chunk
    monkeypatch.setattr(columns, "ARROW_BLOCK", 16_000)  # pyarrow: about 1,000 rows a chunk
    if reader == "python":
        python_reader(monkeypatch)
    mixed_csv(tmp_path / "mixed.csv", rows=2_010, late_at=1_005)
    table = TableFile(tmp_path / "mixed.csv")
    sizes = [len(chunk["code"]) for chunk in table.chunks()]
    assert sum(sizes) == 2_010 and len(sizes) >= 3 and (reader != "python" or sizes == [1000, 1000, 10])
    features = ["code", "odd", "v", "colour"]
    enc = encode_table(table, features, "label", DataConfig(memory_mb=0))
    assert enc.mapped is not None and enc.kinds[0] == "categorical"
    codes = enc.found[0]  # the numbers of the first two chunks are codes too, not values
    with open(tmp_path / "mixed.csv", newline="") as f:
        column = [row[0] for row in list(csv.reader(f))[1:]]
    assert [codes[int(c)] for c in enc.x[:, 0]] == column
    train = np.ones(len(enc.x), bool)
    # the first cell that is not a number, in the columns that also hold numbers ('colour' holds none)
    assert sorted(enc.mixed) == [0, 1]
    assert re.fullmatch(r".*mixed.csv, row 1007 holds 'x\d'", enc.mixed[0]), enc.mixed
    assert enc.mixed[1].endswith("mixed.csv, row 1512 holds 'big'"), enc.mixed
    categories, unseen = training_categories(enc, train, table, features, skip=False)
    assert not unseen.any() and enc.x[:, 0].tolist() == [categories["code"].index(c) for c in column]
    center, scale = robust_scaling(np.asarray(enc.x), enc.kinds, np.arange(len(enc.x)))
    assert center[0] == 0.0 and scale[0] == 1.0 and scale[2] > 0.5


def test_bad_cells_are_named(tmp_path):
    mixed_csv(tmp_path / "mixed.csv", rows=300)
    lines = (tmp_path / "mixed.csv").read_text().splitlines()
    lines[51] = lines[51].replace(lines[51].split(",")[2], "-inf")
    (tmp_path / "inf.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"inf.csv, row 52, column 'v': infinite value"):
        table_splits(TableFile(tmp_path / "inf.csv"), DataConfig(label_column="label"), "t")
    lines = (tmp_path / "mixed.csv").read_text().splitlines()
    lines[120] = lines[120].rsplit(",", 1)[0] + ","
    (tmp_path / "nolabel.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"nolabel.csv, row 121: missing label in column 'label'"):
        table_splits(TableFile(tmp_path / "nolabel.csv"), DataConfig(label_column="label"), "t")
    (tmp_path / "header.csv").write_text("a,b,label\n")
    with pytest.raises(DataError, match="header.csv: no data rows below the header"):
        table_splits(TableFile(tmp_path / "header.csv"), DataConfig(label_column="label"), "t")
    (tmp_path / "short.csv").write_text("a,b,label\n1,2,0\n1,0\n")
    with pytest.raises(DataError, match="short.csv, row 3: 2 cells, the header has 3"):
        table_splits(TableFile(tmp_path / "short.csv"), DataConfig(label_column="label"), "t")
