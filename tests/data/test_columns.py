import gzip

import numpy as np
import pytest

from maskfuse.data import columns
from maskfuse.data.columns import ArrowCells, ListCells, TableFile, read_columns
from maskfuse.errors import DataError

pytest.importorskip("pyarrow")

TRICKY = (
    '"name\n2", value ,note\n a , 1.5 ,"x, y"\nb,NA,"two\nlines"\nc, NaN ,plain\n"d ""q""",1_000,""\n'
    'e,\u0661\u0662,?\nf,  ,None\ng,1e400, NA \nh,-0,"  spaced  "\ni,+.5e-3,null\nj,1e5,x\n'
)


def python_only(monkeypatch):
    monkeypatch.setattr(TableFile, "_arrow_chunks", lambda self: iter(()))


def cells_and_numbers(path):
    table = TableFile(path)
    chunks = list(table.chunks())
    kinds = {type(cells) for chunk in chunks for cells in chunk.values()}
    out = {}
    for name in table.names:
        cells = [c for chunk in chunks for c in chunk[name].cells]
        parts = [chunk[name].numbers() for chunk in chunks]
        out[name] = (cells, None if any(p is None for p in parts) else np.concatenate(parts))
    return kinds, out


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_pyarrow_and_python_readers_agree_cell_by_cell(tmp_path, monkeypatch, newline):
    (tmp_path / "t.csv").write_bytes(TRICKY.replace("\n", newline).encode())
    with gzip.open(tmp_path / "t.csv.gz", "wb") as f:
        f.write(TRICKY.encode())
    for name in ("t.csv", "t.csv.gz"):
        kinds, fast = cells_and_numbers(tmp_path / name)
        assert kinds == {ArrowCells}
        with monkeypatch.context() as m:
            python_only(m)
            kinds, slow = cells_and_numbers(tmp_path / name)
        assert kinds == {ListCells}
        for column in fast:
            assert fast[column][0] == slow[column][0]
            if slow[column][1] is None:
                assert fast[column][1] is None
            else:
                np.testing.assert_array_equal(fast[column][1], slow[column][1])
    cells, numbers = fast["value"]
    assert cells == ["1.5", None, None, "1_000", "\u0661\u0662", None, "1e400", "-0", "+.5e-3", "1e5"]
    np.testing.assert_array_equal(
        numbers, [1.5, np.nan, np.nan, 1000.0, 12.0, np.nan, np.inf, -0.0, 0.0005, 1e5]
    )  # padded, spelled-missing, "1_000" and Arabic-Indic digits as Python's float() reads them
    assert fast["note"][1] is None and fast["note"][0][1] == "two\nlines" and fast["note"][0][6] is None
    first = read_columns(tmp_path / "t.csv").data[f"name{newline}2"]  # a header cell over two lines
    assert first.tolist()[3] == 'd "q"'


def test_a_bad_record_is_named_after_pyarrow_stops(tmp_path, monkeypatch):
    monkeypatch.setattr(columns, "ARROW_BLOCK", 4096)
    lines = ["a,b,label"] + [f"{i},{i * 2},{i % 3}" for i in range(3_000)]
    (tmp_path / "clean.csv").write_text("\n".join(lines) + "\n")
    python_reads = []
    with monkeypatch.context() as m:
        m.setattr(TableFile, "_python_chunks", lambda self, rows, skip: python_reads.append(skip) or iter(()))
        assert sum(len(chunk["a"]) for chunk in TableFile(tmp_path / "clean.csv").chunks()) == 3_000
    assert python_reads == []  # pyarrow read the whole file: the csv module never opens it
    lines[2_500] = "7,1"
    (tmp_path / "short.csv").write_text("\n".join(lines) + "\n")
    chunks = TableFile(tmp_path / "short.csv").chunks()
    first = next(chunks)
    assert isinstance(first["a"], ArrowCells) and len(first["a"]) < 2_499
    with pytest.raises(DataError, match=r"short.csv, row 2501: 2 cells, the header has 3"):
        list(chunks)
    lines[2_500] = "7,1,\xff"
    (tmp_path / "bytes.csv").write_bytes("\n".join(lines).encode("latin-1"))
    with pytest.raises(DataError, match=r"bytes.csv, line 2501: not UTF-8 text \(invalid start byte\)"):
        read_columns(tmp_path / "bytes.csv")
    (tmp_path / "head.csv").write_bytes(b"a,\xff\n1,2\n")
    with pytest.raises(DataError, match=r"head.csv, line 1: not UTF-8 text"):
        TableFile(tmp_path / "head.csv")
    (tmp_path / "blank.csv").write_text("a,b\n1,2\n\n3,4\n")
    with pytest.raises(DataError, match=r"blank.csv, row 3: 0 cells, the header has 2"):
        read_columns(tmp_path / "blank.csv")
    (tmp_path / "one.csv").write_text('a\n1\n""\n3\n')  # one column: an empty cell, not a blank line
    assert read_columns(tmp_path / "one.csv").data["a"].tolist() == ["1", None, "3"]
    (tmp_path / "one.csv").write_text("a\n1\n\n3\n")
    with pytest.raises(DataError, match=r"one.csv, row 3: 0 cells, the header has 1"):
        read_columns(tmp_path / "one.csv")


def test_codes_number_distinct_cells_in_the_order_met_with_either_reader():
    pa = pytest.importorskip("pyarrow")
    raw = [" b", "a", "b", "", "NA", "a ", "c", "null", "b"]  # " b" and "b" are one cell; "", NA, null are None
    want = [0, 1, 0, 2, 2, 1, 3, 2, 0]
    known = {}
    assert ArrowCells(pa.array(raw)).codes(known).tolist() == want
    assert list(known) == ["b", "a", None, "c"]
    assert ListCells(columns._cells(raw)).codes({}).tolist() == want
    more = ArrowCells(pa.array(["c", "z", "a"])).codes(known)  # a later chunk goes on numbering
    assert more.tolist() == [3, 4, 1] and list(known)[-1] == "z"


@pytest.mark.parametrize("arrow", [True, False])
def test_a_utf8_byte_order_mark_is_not_part_of_the_first_column_name(tmp_path, monkeypatch, arrow):
    """Excel writes a BOM before the header; the first column keeps its own name."""
    if not arrow:
        python_only(monkeypatch)
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffcultivar,alcohol\na,1.5\nb,2\n".encode())
    table = TableFile(path)
    assert table.names == ["cultivar", "alcohol"]
    cells = [c for chunk in table.chunks() for c in chunk["cultivar"].cells]
    assert cells == ["a", "b"]
