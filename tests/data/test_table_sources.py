import gzip
import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits, load_wine

from maskfuse import cli, load
from maskfuse.cli import main
from maskfuse.config import DataConfig, resolve
from maskfuse.data import columns, data_overrides, load_data, resident
from maskfuse.data.arrays import ArrayRows, MappedArray
from maskfuse.data.base import split_indices
from maskfuse.errors import DataError
from tests.conftest import pretrain_on_demand
from tests.data.test_table_encoding import python_reader


def cfg_for(path, *extra):
    return resolve(data_settings=data_overrides(str(path)), overrides=["data.name=table", *extra]).data


def wine_csv(path, rows=None, missing_every=7):
    """scikit-learn's wine as CSV: a categorical 'strength' column made from alcohol,
    empty cells every `missing_every` rows, the cultivar name as label."""
    bunch = load_wine()
    x, y = bunch.data, bunch.target
    names = list(bunch.feature_names)
    lines = [",".join(["cultivar", "strength", *names])]
    strength = np.where(x[:, 0] < 12.5, "light", np.where(x[:, 0] < 13.5, "medium", "strong"))
    for i in range(len(x) if rows is None else rows):
        cells = [f"{v:.4f}" for v in x[i]]
        if i % missing_every == 3:
            cells[i % len(cells)] = ""
        lines.append(",".join([f"class_{y[i]}", strength[i], *cells]))
    path.write_text("\n".join(lines) + "\n")
    return x, y


def test_wine_csv_with_missing_cells_and_a_categorical_column(tmp_path):
    x, y = wine_csv(tmp_path / "wine.csv")
    s = load_data(cfg_for(tmp_path / "wine.csv", "data.label_column=cultivar"))
    enc = s.spec.meta["encoding"]
    assert s.spec.modality == "table" and s.spec.shape == (14,)
    assert enc["kinds"][0] == "categorical" and enc["kinds"][1:] == ["numeric"] * 13
    assert enc["categories"]["strength"] == ["light", "medium", "strong"]
    assert s.spec.class_names == ("class_0", "class_1", "class_2") and len(s.train) + len(s.test) == 178
    everything = torch.cat([s.train.inputs, s.test.inputs])
    assert int(torch.isnan(everything).sum()) == len(range(3, 178, 7))
    center = s.spec.meta["center"][1]  # alcohol: the training split's median
    train_alcohol = s.train.inputs[:, 1]
    assert abs(center - float(train_alcohol[~torch.isnan(train_alcohol)].median())) < 0.06


def test_kinds_can_be_forced_and_bad_names_are_refused(tmp_path):
    wine_csv(tmp_path / "wine.csv")
    forced = ["data.label_column=cultivar", "data.categorical=[magnesium]", "data.on_error=skip"]
    s = load_data(cfg_for(tmp_path / "wine.csv", *forced))  # test rows with unseen magnesium levels drop out
    enc = s.spec.meta["encoding"]
    assert len(s.test) < 36 and set(s.test.inputs[:, enc["columns"].index("magnesium")].tolist()) <= set(
        range(len(enc["categories"]["magnesium"]))
    )
    assert enc["kinds"][enc["columns"].index("magnesium")] == "categorical"
    with pytest.raises(DataError, match="'colour', not a feature column"):
        load_data(cfg_for(tmp_path / "wine.csv", "data.label_column=cultivar", "data.numeric=[colour]"))
    with pytest.raises(DataError, match=r"column 'strength': expected a number, got 'strong'"):
        load_data(cfg_for(tmp_path / "wine.csv", "data.label_column=cultivar", "data.numeric=[strength]"))


def test_missing_label_column_and_unseen_category(tmp_path):
    wine_csv(tmp_path / "wine.csv")
    with pytest.raises(DataError, match="no label column 'label'; columns: cultivar, strength"):
        load_data(cfg_for(tmp_path / "wine.csv"))
    text = (tmp_path / "wine.csv").read_text().splitlines()
    _, test_rows = split_indices(178, load_wine().target, 0.2, 0)
    row = int(test_rows[5]) + 1  # a held-out row's line (the header is line 0)
    text[row] = text[row].replace(text[row].split(",")[1], "unheard-of", 1)
    (tmp_path / "odd.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(DataError, match=rf"odd.csv, row {row + 1}, column 'strength': category 'unheard-of' never"):
        load_data(cfg_for(tmp_path / "odd.csv", "data.label_column=cultivar"))
    s = load_data(cfg_for(tmp_path / "odd.csv", "data.label_column=cultivar", "data.on_error=skip"))
    assert len(s.train) + len(s.test) == 177 and "skipped 1 test rows" in s.notes[0]


@pytest.mark.parametrize("reader", ["arrow", "python"])
def test_one_junk_cell_in_a_column_of_numbers_is_the_cell_named(tmp_path, monkeypatch, reader):
    """The junk cell makes the column categorical; the error names it, not an innocent
    test row whose number training never saw as a category, nor a missing cell before it
    (the csv-module reader keeps "NA" as text)."""
    if reader == "python":
        python_reader(monkeypatch)
    x, _ = wine_csv(tmp_path / "wine.csv")
    text = (tmp_path / "wine.csv").read_text().splitlines()
    cells = text[40].split(",")
    cells[3] = "n/q"  # malic_acid of data row 39, a typo
    text[40] = ",".join(cells)
    cells = text[20].split(",")
    cells[3] = "NA"  # a missing cell before it is not the one to name
    text[20] = ",".join(cells)
    (tmp_path / "junk.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(DataError, match=r"junk.csv, row 41 holds 'n/q' in column 'malic_acid', not a number.*"
                                        r"data.numeric=\[malic_acid\]"):  # fmt: skip
        load_data(cfg_for(tmp_path / "junk.csv", "data.label_column=cultivar"))
    with pytest.raises(DataError, match=r"junk.csv, row 41, column 'malic_acid': expected a number, got 'n/q'"):
        load_data(cfg_for(tmp_path / "junk.csv", "data.label_column=cultivar", "data.numeric=[malic_acid]"))


def test_builtin_wine_and_breast_cancer():
    wine = load_data(resolve(overrides=["data.name=wine"]).data)
    cancer = load_data(resolve(overrides=["data.name=breast-cancer"]).data)
    assert wine.spec.shape == (13,) and wine.spec.class_names == ("class_0", "class_1", "class_2")
    assert cancer.spec.shape == (30,) and cancer.spec.class_names == ("malignant", "benign")
    assert len(cancer.train) + len(cancer.test) == 569 and not torch.isnan(cancer.train.inputs).any()


def test_parquet_tables_read_the_same(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    bunch = load_wine()
    cols = {n: bunch.data[:, j] for j, n in enumerate(bunch.feature_names)}
    cols["label"] = bunch.target
    pq.write_table(pa.table(cols), tmp_path / "w.parquet")
    s = load_data(cfg_for(tmp_path / "w.parquet"))
    assert s.spec.shape == (13,) and len(s.train) + len(s.test) == 178


def test_a_table_read_by_row_equals_the_held_table(tmp_path, monkeypatch):
    monkeypatch.setattr(columns, "CHUNK_CELLS", 15 * 4096)  # 4,096 rows a chunk
    bunch = load_wine()
    rng = np.random.default_rng(0)
    lines = ["cultivar,region," + ",".join(bunch.feature_names)]
    for i in rng.integers(0, 178, 9_000):  # 9,000 rows: three chunks of the file
        lines.append(f"c{bunch.target[i]},{rng.choice(['north', 'south', ''])}," + ",".join(map(str, bunch.data[i])))
    with gzip.open(tmp_path / "wines.csv.gz", "wt") as f:
        f.write("\n".join(lines) + "\n")
    held = load_data(cfg_for(tmp_path / "wines.csv.gz", "data.label_column=cultivar"))
    lazy = load_data(cfg_for(tmp_path / "wines.csv.gz", "data.label_column=cultivar", "data.memory_mb=0"))
    assert isinstance(held.train.inputs, torch.Tensor) and isinstance(lazy.train, ArrayRows)
    assert isinstance(lazy.train.array, MappedArray) and len(pickle.dumps(lazy.train)) < 200_000  # rows, not data
    assert lazy.spec == held.spec and "encoded 9000 rows into" in lazy.notes[0]
    assert lazy.spec.meta["encoding"]["categories"]["region"] == ["north", "south"]
    batch = lazy.train.batch(torch.tensor([7, 0, 5000]))
    torch.testing.assert_close(batch["table"], held.train.inputs[[7, 0, 5000]], equal_nan=True, rtol=0, atol=0)
    assert batch["label"].tolist() == held.train.labels[[7, 0, 5000]].tolist()
    whole = resident(lazy, len(lazy.train))
    torch.testing.assert_close(whole.test.inputs, held.test.inputs, equal_nan=True, rtol=0, atol=0)
    capped = load_data(cfg_for(tmp_path / "wines.csv.gz", "data.label_column=cultivar", "data.memory_mb=0",
                               "data.max_train=100"))  # fmt: skip
    assert isinstance(capped.train, ArrayRows) and len(capped.train) == 100


def test_cli_pretrains_evaluates_and_embeds_a_table_read_by_row(tmp_path, monkeypatch):
    d = load_digits()
    lines = [",".join([f"p{j}" for j in range(64)] + ["label"])]
    lines += [",".join([*map(str, d.data[i].astype(int)), str(d.target[i])]) for i in range(len(d.target))]
    (tmp_path / "digits.csv").write_text("\n".join(lines) + "\n")
    run = tmp_path / "run"
    report = pretrain_on_demand(tmp_path / "digits.csv", run, "data.name=table")  # read by row (data.memory_mb=0)
    assert report["results"]["pretrained"]["knn"]["top1"] > 0.5
    monkeypatch.setattr(cli.commands, "EMBED_CHUNK", 500)
    out = tmp_path / "e.npy"
    assert main(["embed", str(run), "--data", str(tmp_path / "digits.csv"), "--out", str(out)]) == 0
    held = load_data(DataConfig(name="table", path=str(tmp_path / "digits.csv")))
    expected = load(run).embed(torch.cat([held.train.inputs, held.test.inputs]))
    np.testing.assert_allclose(np.load(out), expected, rtol=1e-5, atol=1e-5)


def test_a_split_column_gives_the_split(tmp_path):
    rows = ["strength,cultivar,part"] + [f"{i},{'ab'[i % 2]},{('train', 'TEST', 'val', 'train')[i % 4]}"
                                          for i in range(40)]  # fmt: skip
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    cfg = resolve(overrides=["data.name=table", f"data.path={tmp_path / 't.csv'}", "data.label_column=cultivar",
                             "data.split_column=part"]).data  # fmt: skip
    s = load_data(cfg)
    assert len(s.train) == 20 and len(s.test) == 20 and s.spec.shape == (1,)  # 'part' is no feature
    assert s.spec.meta["encoding"]["columns"] == ["strength"]
    rows[3] = "2,a,holdout"
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"t.csv, row 4: split marker 'holdout'; expected train, test or val"):
        load_data(cfg)
