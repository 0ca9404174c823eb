"""Contract tests generated from the registries: a new component is covered on registration."""

import math

import numpy as np
import pytest
import torch

import maskfuse.methods.build  # noqa: F401  (fills every registry)
from maskfuse.config import DataConfig, MaskConfig
from maskfuse.data import load_data
from maskfuse.data.columns import Columns
from maskfuse.data.tabular import table_splits
from maskfuse.data.text import text_splits
from maskfuse.data.text_docs import table_documents
from maskfuse.data.timeseries import series_splits
from maskfuse.errors import ConfigError
from maskfuse.methods.build import build_method
from maskfuse.registry import METHODS, MODALITIES, OBJECTIVES, SAMPLERS
from tests.conftest import small_config, teacher_run


def objective_example(name: str):
    """Each objective brings its own case (`contract_example`), so registering one covers it."""
    objective = OBJECTIVES.get(name)
    assert hasattr(objective, "contract_example"), f"objective '{name}' defines no contract_example()"
    return objective.contract_example()


@pytest.mark.parametrize("name", OBJECTIVES.names())
def test_objective_contract(name):
    args, inputs, leaves = objective_example(name)
    objective = OBJECTIVES.get(name)(*args)
    out = objective(*inputs)
    assert out.loss.dim() == 0 and torch.isfinite(out.loss)
    assert all(isinstance(v, float) for v in out.logs.values())
    out.loss.backward()
    for leaf in leaves:
        assert leaf.grad is not None and torch.isfinite(leaf.grad).all() and leaf.grad.abs().sum() > 0
    for p in objective.parameters():
        assert p.grad is not None


@pytest.mark.parametrize("name", SAMPLERS.names())
def test_sampler_contract(name):
    plan = SAMPLERS.get(name)(MaskConfig(ratio=0.5))((6, 6), 3, scores=torch.rand(3, 36))
    assert plan.keep_idx.dtype == torch.long and plan.pred_idx.dtype == torch.long
    assert plan.num_tokens == 36 and plan.keep_idx.shape[1] > 0 and plan.pred_idx.shape[1] > 0
    assert bool((plan.keep_idx.diff(dim=1) > 0).all()) and bool((plan.pred_idx.diff(dim=1) > 0).all())
    assert not (plan.mask & torch.zeros(3, 36, dtype=torch.bool).scatter(1, plan.keep_idx, True)).any()


@pytest.mark.parametrize("name", SAMPLERS.names())
@pytest.mark.parametrize("method", ["mae", "simmim"])
def test_every_sampler_drives_every_masked_method_on_every_modality(name, method, modality_data):
    """Samplers work on any grid a tokenizer makes: 2-D patches, 1-D time or columns or
    text, time x frequency, with padding."""
    spec = modality_data.spec
    extra = {f"x{i}": s for i, s in enumerate(MODALITY_SETTINGS[spec.modality])}
    cfg = small_config(method, s=f"mask.sampler={name}", r="mask.ratio=0.5", **extra)
    most = getattr(SAMPLERS.get(name), "max_axes", None)
    axes = len(build_method(small_config(method, **extra), spec).backbone.tokenizer.grid)  # random sampler: any grid
    if most is not None and axes > most:
        with pytest.raises(ConfigError, match=f"mask.sampler={name} draws on token grids of at most {most} axes"):
            build_method(cfg, spec)
        return
    model = build_method(cfg, spec)
    batch = modality_data.train.batch(torch.arange(8))
    n = math.prod(model.backbone.tokenizer.grid)
    batch["mask_scores"] = torch.rand(8, n)  # what an npz source with mask_scores provides
    out = model(batch)
    assert torch.isfinite(out.loss)


@pytest.fixture(scope="module")
def digits():
    return load_data(small_config().data)


def series_data():
    """Two-channel series of unequal length (NaN-padded): every method must respect padding."""
    rng = np.random.default_rng(0)
    x = np.sin(np.linspace(0, 12, 40))[None, None] * rng.uniform(0.5, 2, size=(48, 2, 1))
    x = x + 0.1 * rng.normal(size=x.shape)
    for i in range(48):
        x[i, :, 40 - (i % 9) * 3 :] = np.nan
    cfg = small_config().data
    return series_splits((x[:32], np.arange(32) % 3), (x[32:], np.arange(16) % 3), "synthetic series", cfg)


def table_data():
    """Numeric and categorical columns with missing cells: every method meets missing tokens."""
    rng = np.random.default_rng(0)
    n = 48
    data = {
        "a": rng.normal(size=n).astype(object),
        "kind": rng.choice(["x", "y", "z"], size=n).astype(object),
        "b": rng.uniform(0, 100, size=n).astype(object),
        "label": (np.arange(n) % 3).astype(object),
    }
    data["a"][::5] = None
    data["kind"][1::7] = None
    return table_splits(Columns("synthetic table", data, 0), DataConfig(test_fraction=0.25), "synthetic table")


def text_data():
    """Short documents of unequal length with an items vocabulary: padding in every batch."""
    rng = np.random.default_rng(0)
    docs = [" ".join(f"w{int(v)}" for v in rng.integers(0, 25, size=3 + i % 9)) for i in range(48)]
    labels = [str(i % 2) for i in range(48)]
    cfg = DataConfig(vocab="items", test_fraction=0.25)
    table = Columns("synthetic text", {"text": np.asarray(docs, object), "label": np.asarray(labels, object)}, 0)
    docs, labels, empty, marks = table_documents(table, cfg)
    return text_splits(docs, labels, empty, cfg, "synthetic text", marks)


MODALITY_DATA = {
    "text": text_data,
    "image": lambda: load_data(small_config().data),
    "timeseries": series_data,
    "table": table_data,
}
MODALITY_SETTINGS = {
    "image": [],
    "timeseries": ["series.patch_len=4"],
    "table": [],
    "text": ["mask.replace_random=0.1", "mask.keep_original=0.1"],
}


def folder_examples() -> None:
    """Modalities that bring their own contract example (a modality folder's tokenizer
    builder carries `contract_example() -> (Splits, settings)`) join the tables above."""
    for name in MODALITIES.names():
        example = getattr(MODALITIES.get(name), "contract_example", None)
        if name not in MODALITY_DATA and example is not None:
            MODALITY_DATA[name] = lambda example=example: example()[0]
            MODALITY_SETTINGS[name] = example()[1]


folder_examples()


def test_every_modality_has_contract_data():
    assert sorted(MODALITY_DATA) == MODALITIES.names()


@pytest.fixture(scope="module", params=sorted(MODALITY_DATA))
def modality_data(request):
    return MODALITY_DATA[request.param]()


@pytest.mark.parametrize("cls_token", [False, True])
@pytest.mark.parametrize("name", [n for n in METHODS.names() if not getattr(METHODS.get(n), "paired", False)])
def test_method_contract(name, cls_token, modality_data, tmp_path):
    spec = modality_data.spec
    if spec.modality not in getattr(METHODS.get(name), "modalities", (spec.modality,)):
        pytest.skip(f"{name} is for {METHODS.get(name).modalities} only (build_method refuses others: tested)")
    extra = {f"x{i}": s for i, s in enumerate(MODALITY_SETTINGS[spec.modality])}
    if getattr(METHODS.get(name), "needs_teacher", False):  # a frozen teacher of the same data, 3 blocks deep
        teacher = teacher_run(tmp_path / "teacher", small_config("mae", d="model.depth=3", **extra), spec)
        extra["teacher"] = f"teacher.path={teacher}"
    cfg = small_config(name, cls=f"model.cls_token={str(cls_token).lower()}", **extra)
    model = build_method(cfg, spec)
    batch = modality_data.train.batch(torch.arange(16))
    out = model(batch)
    assert out.loss.dim() == 0 and torch.isfinite(out.loss)
    out.loss.backward()
    trained = [(n, p) for n, p in model.named_parameters() if p.requires_grad]  # EMA copies are not
    missing = [n for n, p in trained if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"{name}: parameters without a finite gradient: {missing}"
    raw = batch[spec.modality]
    assert model.backbone(raw).shape == (16, model.backbone.encoder.dim)
    assert torch.isfinite(model.backbone(raw)).all()
    pictures = model.pictures(batch)  # every method shows the report what it does
    assert "input" in pictures and len(pictures) >= 2
    show = getattr(model.backbone.tokenizer, "show", None)  # raw volumes, clips, motion: drawn by the tokenizer
    pictures = {k: show(p) if show is not None and p.shape == raw.shape else p for k, p in pictures.items()}
    # rows are the raw input, or images of it (audio draws spectrograms)
    assert all(p.shape == raw.shape or (p.dim() == 4 and len(p) == 16) for p in pictures.values())
    assert all(torch.isfinite(p).all() for p in pictures.values() if p.dim() == 4)  # signals keep NaN gaps


@pytest.mark.parametrize("name", [n for n in METHODS.names() if getattr(METHODS.get(n), "modalities", None)])
def test_a_method_refuses_modalities_it_does_not_name(name):
    other = next(m for m in sorted(MODALITY_DATA) if m not in METHODS.get(name).modalities)
    with pytest.raises(ConfigError, match=f"method '{name}' works on"):
        build_method(small_config(name), MODALITY_DATA[other]().spec)


@pytest.mark.parametrize("loss", ["infonce", "dcl", "hard-negatives", "tau"])
@pytest.mark.parametrize("views", [2, 3])
def test_simclr_with_every_contrastive_loss(loss, views, digits):
    cfg = small_config("simclr", l=f"contrastive.loss={loss}", v=f"contrastive.views={views}")
    model = build_method(cfg, digits.spec)
    out = model(digits.train.batch(torch.arange(8)))
    out.loss.backward()
    assert torch.isfinite(out.loss)
    assert all(p.grad is not None for p in model.parameters())
