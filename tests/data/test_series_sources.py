import numpy as np
import pytest
import torch

from maskfuse.config import resolve
from maskfuse.data import data_overrides, load_data, resident
from maskfuse.data.arrays import ArrayRows, MappedArray
from maskfuse.errors import DataError
from tests.conftest import ucr_file


def cfg_for(path, *extra):
    return resolve(data_settings=data_overrides(str(path)), overrides=list(extra)).data


def test_ucr_gunpoint_with_its_own_test_split():
    splits = load_data(cfg_for(ucr_file("GunPoint"), "data.name=ucr"))
    assert (len(splits.train), len(splits.test)) == (50, 150)
    assert splits.spec.modality == "timeseries" and splits.spec.shape == (1, 150)
    assert splits.spec.num_classes == 2 and splits.spec.class_names == ("1", "2")
    assert torch.isfinite(splits.train.inputs).all()
    first = np.loadtxt(ucr_file("GunPoint"))[0, 1:]  # the file's first series is among them, whole
    assert any(np.allclose(row[0].numpy(), first, atol=1e-6) for row in splits.train.inputs)


def write_ts(path, rows, labels=("a", "b")):
    lines = [
        "# written by the test",
        "@problemName demo",
        "@timeStamps false",
        "@univariate false",
        f"@classLabel true {' '.join(labels)}",
        "@data",
    ]
    lines += [":".join(",".join(str(v) for v in dim) for dim in dims) + f":{label}" for dims, label in rows]
    path.write_text("\n".join(lines) + "\n")


def test_ts_format_multivariate_unequal_length_from_real_values(tmp_path):
    gun = np.loadtxt(ucr_file("GunPoint"))[:12]  # real values, cut to unequal lengths
    rows = [([gun[i, 1 : 40 - i], gun[i, 41 : 80 - i]], "b" if gun[i, 0] == 2 else "a") for i in range(12)]
    write_ts(tmp_path / "demo_TRAIN.ts", rows)
    splits = load_data(cfg_for(tmp_path / "demo_TRAIN.ts", "data.test_fraction=0.25"))
    assert splits.spec.shape == (2, 39) and len(splits.train) + len(splits.test) == 12
    everything = torch.cat([splits.train.inputs, splits.test.inputs])
    lengths = sorted((~torch.isnan(everything[:, 0])).sum(1).tolist())
    assert lengths == list(range(28, 40))
    assert torch.equal(torch.isnan(everything[:, 0]), torch.isnan(everything[:, 1]))


def test_ts_missing_value_inside_a_series_names_it_or_is_skipped(tmp_path):
    write_ts(
        tmp_path / "x.ts",
        [
            ([[1, 2, 3, 4]], "a"),
            ([[1, "?", 3, 4]], "b"),
            ([[5, 6, 7, 8]], "a"),
            ([[1, 1, 2, 2]], "b"),
            ([[0, 1, 0, 1]], "a"),
        ],
    )
    with pytest.raises(DataError, match=r"series \d+: has a missing value \(NaN\) at step 1"):
        load_data(cfg_for(tmp_path / "x.ts"))
    splits = load_data(cfg_for(tmp_path / "x.ts", "data.on_error=skip"))
    assert len(splits.train) + len(splits.test) == 4 and any("skipped 1" in n for n in splits.notes)


def test_ts_errors_name_the_line(tmp_path):
    (tmp_path / "bad.ts").write_text("@classLabel true a b\n@data\n1,2,x:a\n")
    with pytest.raises(DataError, match=r"bad.ts, line 3, channel 0: expected a number, got 'x'"):
        load_data(cfg_for(tmp_path / "bad.ts"))
    (tmp_path / "nodata.ts").write_text("@problemName x\n")
    with pytest.raises(DataError, match="no '@data' line"):
        load_data(cfg_for(tmp_path / "nodata.ts"))
    write_ts(tmp_path / "label.ts", [([[1, 2]], "c")])
    with pytest.raises(DataError, match=r"labels \['c'\] are not among the declared classes"):
        load_data(cfg_for(tmp_path / "label.ts"))


def test_wide_csv_with_shorter_series_and_string_labels(tmp_path):
    gun = np.loadtxt(ucr_file("GunPoint"))[:10, 1:21]
    lines = ["kind," + ",".join(f"t{i}" for i in range(20))]
    for i, row in enumerate(gun):
        n = 20 - (i % 3)  # trailing empty cells make a shorter series
        lines.append(("gun," if i % 2 else "point,") + ",".join(f"{v:.6f}" for v in row[:n]) + "," * (20 - n))
    (tmp_path / "wide.csv").write_text("\n".join(lines) + "\n")
    splits = load_data(cfg_for(tmp_path / "wide.csv", "data.name=series-table", "data.label_column=kind"))
    assert splits.spec.shape == (1, 20) and splits.spec.class_names == ("gun", "point")
    with pytest.raises(DataError, match="no label column 'label'"):
        load_data(cfg_for(tmp_path / "wide.csv", "data.name=series-table"))
    lines[3] = lines[3].replace(lines[3].split(",")[4], "oops", 1)
    (tmp_path / "wide.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"wide.csv, row 4, column 't3': expected a number, got 'oops'"):
        load_data(cfg_for(tmp_path / "wide.csv", "data.name=series-table", "data.label_column=kind"))


def test_long_form_parquet_multichannel_matches_wide_layout(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    values = rng.normal(size=(6, 2, 9)).astype(np.float32)
    rows = [
        (f"s{i}", t, ch, float(values[i, c, t]), i % 2)
        for i in range(6)
        for c, ch in enumerate(["x", "y"])
        for t in rng.permutation(9 - (i == 0) * 3)
    ]
    cols = dict(zip(["id", "time", "axis", "value", "label"], map(list, zip(*rows))))
    pq.write_table(pa.table(cols), tmp_path / "long.parquet")
    cfg = cfg_for(
        tmp_path / "long.parquet",
        "data.name=series-table",
        "data.series_format=long",
        "data.channel_column=axis",
        "data.test_fraction=0.34",
    )
    splits = load_data(cfg)
    got = torch.cat([splits.train.inputs, splits.test.inputs])
    assert splits.spec.shape == (2, 9) and got.shape == (6, 2, 9)
    expect = torch.as_tensor(values)
    expect[0, :, 6:] = float("nan")  # series s0 is 3 steps shorter
    for series in got:  # every series comes back whole, time-sorted, channels in order
        match = [e for e in expect if torch.allclose(e.nan_to_num(99), series.nan_to_num(99))]
        assert len(match) == 1


def test_long_form_duplicate_time_names_the_row(tmp_path):
    (tmp_path / "dup.csv").write_text("id,time,value\na,0,1\na,1,2\na,1,3\nb,0,1\nb,1,1\n")
    with pytest.raises(DataError, match=r"dup.csv, row 4: series 'a' has two values at time 1.0"):
        load_data(
            cfg_for(tmp_path / "dup.csv", "data.name=series-table", "data.series_format=long", "data.label_column=null")
        )


def test_series_npz_and_suffix_dispatch(tmp_path):
    x = np.random.default_rng(1).normal(size=(20, 3, 16)).astype(np.float32)
    np.savez(tmp_path / "s.npz", series=x, labels=np.arange(20) % 4)
    assert data_overrides(str(tmp_path / "s.npz"))["name"] == "series-npz"
    splits = load_data(cfg_for(tmp_path / "s.npz"))
    assert splits.spec.shape == (3, 16) and splits.spec.num_classes == 4
    assert data_overrides(str(tmp_path / "s.npz")) != data_overrides(str(tmp_path))  # folder -> images


def test_a_table_without_a_named_source_says_so(tmp_path):
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="digits is built in and reads no file.*set data.name"):
        load_data(cfg_for(tmp_path / "t.csv"))


def test_wide_table_read_by_row_equals_the_held_table(tmp_path):
    gun = np.loadtxt(ucr_file("GunPoint"))
    lines = ["kind," + ",".join(f"t{i}" for i in range(150))]
    for i, row in enumerate(gun):
        cells = [f"{v:.6f}" for v in row[1 : 151 - i % 5]] + [""] * (i % 5)  # shorter series end in empty cells
        if i == 11:
            cells[20] = ""  # a gap before the end: a bad series
        lines.append(("gun," if row[0] == 1 else "point,") + ",".join(cells))
    (tmp_path / "wide.csv").write_text("\n".join(lines) + "\n")
    settings = ["data.name=series-table", "data.label_column=kind", "data.on_error=skip"]
    held = load_data(cfg_for(tmp_path / "wide.csv", *settings))
    lazy = load_data(cfg_for(tmp_path / "wide.csv", *settings, "data.memory_mb=0"))
    assert isinstance(lazy.train, ArrayRows) and "encoded 50 series into" in lazy.notes[0]
    assert lazy.spec == held.spec and held.notes == lazy.notes[1:] == ["skipped 1 bad train series"]
    whole = resident(lazy, len(lazy.train))
    for a, b in ((whole.train, held.train), (whole.test, held.test)):
        torch.testing.assert_close(a.inputs, b.inputs, equal_nan=True, rtol=0, atol=0)
        assert a.labels.tolist() == b.labels.tolist()
    assert int(torch.isnan(held.train.inputs[:, 0, -1]).sum()) > 0  # NaN padding kept
    with pytest.raises(DataError, match=r"wide.csv, series 11: has a missing value \(NaN\) at step 20"):
        load_data(cfg_for(tmp_path / "wide.csv", "data.name=series-table", "data.label_column=kind"))


def test_ucr_files_read_by_row_equal_them_held(tmp_path):
    held = load_data(cfg_for(ucr_file("GunPoint"), "data.name=ucr"))
    by_row = load_data(cfg_for(ucr_file("GunPoint"), "data.name=ucr", "data.memory_mb=0"))
    assert isinstance(by_row.train, ArrayRows) and isinstance(by_row.test.array, MappedArray)
    assert len(by_row.notes) == 2 and "GunPoint_TEST.txt into" in by_row.notes[1]
    assert by_row.spec == held.spec
    torch.testing.assert_close(by_row.test.decoded().inputs, held.test.inputs)
    assert torch.equal(by_row.train.labels, held.train.labels)


def test_ucr_lines_are_checked_as_they_are_read(tmp_path):
    write_ts(tmp_path / "mixed.ts", [([[1, 2, 3]], "a"), ([[1, 2], [3, 4]], "b")])
    with pytest.raises(DataError, match=r"mixed.ts, line 8: 2 channels, the series before have 1"):
        load_data(cfg_for(tmp_path / "mixed.ts"))
    (tmp_path / "latin.tsv").write_bytes(b"1\t0.5\t0.25\n2\t0.5\t\xe9\n")
    with pytest.raises(DataError, match=r"latin.tsv, line 2: not UTF-8 text"):
        load_data(cfg_for(tmp_path / "latin.tsv", "data.name=ucr"))


def test_a_wide_series_table_takes_its_split_column(tmp_path):
    lines = ["label,part,t0,t1,t2,t3"] + [f"{i % 2},{'test' if i < 5 else 'train'},{i},{i + 1},{i},{i - 1}"
                                          for i in range(20)]  # fmt: skip
    (tmp_path / "s.csv").write_text("\n".join(lines) + "\n")
    s = load_data(resolve(overrides=["data.name=series-table", f"data.path={tmp_path / 's.csv'}",
                                     "data.split_column=part"]).data)  # fmt: skip
    assert len(s.train) == 15 and len(s.test) == 5 and s.spec.shape == (1, 4)  # 'part' is no time step
